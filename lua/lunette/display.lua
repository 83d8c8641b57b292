-- lunette.display: shows a value (a figure, a tensor) where the user is. Inside the Jupyter
-- kernel the kernel installs a handler that sends the value as display data; elsewhere
-- figures go to the terminal (inline images where the terminal speaks a graphics protocol, a
-- PNG file otherwise).
-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local display = {}

-- display.handler: nil, or function(value, opts) -> true that shows `value` itself. The
-- Jupyter kernel sets it; scripts and the REPL leave it nil.
display.handler = nil

-- display.show(value [, opts]) -> true
-- Shows `value` through display.handler when one is installed, else in the terminal.
function display.show(value, opts)
  if display.handler ~= nil then return display.handler(value, opts) end
  raise("show: no display for this terminal yet")
end

return display
