-- kernel_spec.lua: `lunette --kernel` driven the way Jupyter drives it. tests/kernel/kernel_test.py
-- runs the protocol suite of jupyter_kernel_test plus interrupts, display data, hostile
-- messages and restart, once, with /usr/bin/python3 (Debian's python3-jupyter-kernel-test);
-- each of its tests is one case here. tests/kernel/notebook_test.py executes
-- examples/sage_feature_space.ipynb with nbclient and checks its outputs.
local build = os.getenv("LUNETTE_BUILD") or "build"
local PY = "/usr/bin/python3"

local function abs(p)
  if p:sub(1, 1) == "/" then return p end
  return assert(os.getenv("PWD"), "PWD unset") .. "/" .. p
end

local function have_python(modules)
  local f = io.open(PY)
  if not f then return false end
  f:close()
  return os.execute(PY .. " -c 'import " .. modules .. "' 2>/dev/null") == true
end

-- Runs a Python test script from tests/kernel and returns its output.
local function run_python(script)
  local cmd = ("cd tests/kernel && LUNETTE_KERNEL_BIN=%q timeout 300 %s %s 2>&1"):format(
    abs(build .. "/lunette"), PY, script)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

describe("lunette --kernel", function()
  local host = abs(build .. "/lunette")
  local function run(args)
    local p = assert(io.popen(host .. " " .. args .. " 2>&1; echo \"exit=$?\""))
    local out = p:read("a")
    p:close()
    return out
  end
  it("needs a connection file", function()
    local out = run("--kernel")
    assert.is_truthy(out:find("'--kernel' needs argument", 1, true), out)
    assert.is_truthy(out:find("exit=1", 1, true), out)
  end)
  it("says what is wrong with the connection file", function()
    local out = run("--kernel /nonexistent/kernel.json")
    assert.is_truthy(out:find("cannot read the connection file /nonexistent/kernel.json", 1, true))
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write('{"ip": "127.0.0.1", "transport": "tcp", "shell_port": 1}')
    f:close()
    out = run("--kernel " .. path)
    os.remove(path)
    assert.is_truthy(out:find("the connection file has no iopub_port", 1, true), out)
    assert.is_truthy(out:find("exit=1", 1, true), out)
  end)
  it("loads no kernel library at start-up", function()
    local out = run("-e 'io.write(io.open(\"/proc/self/maps\"):read(\"a\"))'")
    assert.is_falsy(out:find("libzmq", 1, true))
    assert.is_falsy(out:find("libcjson", 1, true))
  end)
end)

describe("jupyter kernel", function()
  local ok = have_python("jupyter_kernel_test, jupyter_client, zmq")
  local out = ok and run_python("kernel_test.py") or ""
  local results = {}
  for name, verdict in out:gmatch("RESULT (%S+) (%S+)") do results[name] = verdict end
  local function case(name, what)
    it(what .. " (" .. name .. ")", function()
      if not ok then pending("skipped: /usr/bin/python3 lacks jupyter_kernel_test") return end
      assert.are.equal("ok", results[name], out)
    end)
  end
  case("test_kernel_info", "answers kernel_info with the Lua language info")
  case("test_execute_stdout", "sends print as a stdout stream")
  case("test_execute_stderr", "sends io.stderr writes as a stderr stream")
  case("test_stream_order_and_c_output", "captures C-side output in order")
  case("test_binary_output", "sends bytes that are not UTF-8 as U+FFFD")
  case("test_execute_result", "sends a trailing expression's value as execute_result")
  case("test_execution_count", "counts executions")
  case("test_input_request", "asks the notebook for io.read's lines")
  case("test_trailing_semicolon_hides_value", "hides the value after a trailing ';'")
  case("test_statement_cells_have_no_value", "shows no value for cells ending in a statement")
  case("test_kernel_info_on_control", "answers kernel_info on control too")
  case("test_error", "answers a Lua error with an error reply and message")
  case("test_error_traceback", "sends the Lua traceback")
  case("test_error_position_in_last_line", "keeps the cell's line in errors of its last line")
  case("test_stop_on_error_aborts_queue", "aborts queued cells after an error")
  case("test_completion", "completes names, lazily loaded modules included")
  case("test_complete_cursor_and_methods", "completes tensor methods at the cursor")
  case("test_inspect", "inspects with the help() text")
  case("test_inspect_unknown", "reports an unknown name as not found")
  case("test_is_complete", "tells complete, incomplete and invalid code apart")
  case("test_history", "answers history requests")
  case("test_display_data", "sends display_data with a PNG for lt.display.show(fig)")
  case("test_figure_value_png", "shows a Figure cell value as a PNG of the figure's size")
  case("test_display_svg_on_request", "adds image/svg+xml when asked")
  case("test_display_options", "takes dpi= and rejects unknown options")
  case("test_tensor_html", "sends small tensors as text/html too")
  case("test_progress_in_place", "draws progress bars in place with carriage returns")
  case("test_interrupt_signal", "survives SIGINT, which cancels the running cell")
  case("test_interrupt_message", "cancels a long call on interrupt_request")
  case("test_hostile_messages", "drops malformed, badly signed and unknown messages")
  case("test_zz_restart", "restarts with a fresh state")
  case("test_orphan_exits", "exits when the process that started it dies")
end)

describe("notebook examples/sage_feature_space.ipynb under nbclient", function()
  local ok = have_python("nbclient, nbformat, jupyter_client")
  local out = ok and run_python("notebook_test.py") or ""
  local results = {}
  for name, verdict in out:gmatch("RESULT (%S+) (%S+)") do results[name] = verdict end
  local function case(name, what)
    it(what .. " (" .. name .. ")", function()
      if not ok then pending("skipped: /usr/bin/python3 lacks nbclient") return end
      assert.are.equal("ok", results[name], out)
    end)
  end
  case("test_execute", "executes every cell")
  case("test_runs_in_a_minute", "runs in about a minute")
  case("test_no_errors", "raises no error")
  case("test_values_only_figures", "shows a value only for cells that end in one")
  case("test_loaded", "prints what it loaded")
  case("test_class_statistics", "prints the class statistics (400 per class, SAGE 20)")
  case("test_agreement_statistics", "prints the agreement statistics")
  case("test_png_plot.subplots", "shows the feature-space figure as a PNG of its size")
  case("test_png_Original_Dataset_Class_Distribution", "shows the class-balance figure")
  case("test_png_plot.montage", "shows three montages")
  case("test_png_Agreement_Score_vs_Class_Label", "shows the agreement figure")
  case("test_png_SAGE_Subset_Selection_Analysis_Summary", "shows the summary figure")
  case("test_progress_in_place", "redraws progress bars in place")
end)
