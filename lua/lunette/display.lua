-- lunette.display: shows a value (a figure, a tensor) where the user is. Inside the Jupyter
-- kernel the kernel installs a handler that sends the value as display data; elsewhere
-- figures go to the terminal (inline images where the terminal speaks a graphics protocol, a
-- PNG file otherwise).
local display = {}

-- display.handler: nil, or function(value, opts) -> true that shows `value` itself. The
-- Jupyter kernel sets it; scripts and the REPL leave it nil.
display.handler = nil

-- display.show(value [, opts]) -> true
-- Shows `value` through display.handler when one is installed, else in the terminal.
function display.show(value, opts)
  if display.handler ~= nil then return display.handler(value, opts) end
  error("show: no display for this terminal yet", 2)
end

return display
