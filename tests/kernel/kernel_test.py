"""lunette --kernel under jupyter_kernel_test (Debian python3-jupyter-kernel-test) and
jupyter_client: the protocol conformance suite, then interrupts, display data, hostile
messages and restart. Run by tests/kernel_spec.lua with /usr/bin/python3:

    LUNETTE_KERNEL_BIN=/abs/build/lunette /usr/bin/python3 -m unittest -v kernel_test

The kernelspec is written into a temporary JUPYTER_PATH, so nothing outside it is touched.
"""
import base64
import json
import os
import struct
import sys
import tempfile
import time
import unittest

HERE = tempfile.mkdtemp(prefix="lunette-kernel-test-")
SPEC = os.path.join(HERE, "kernels", "lunette")
os.makedirs(SPEC)
with open(os.path.join(SPEC, "kernel.json"), "w") as f:
    json.dump({"argv": [os.environ["LUNETTE_KERNEL_BIN"], "--kernel", "{connection_file}"],
               "display_name": "lunette", "language": "lua"}, f)
os.environ["JUPYTER_PATH"] = HERE
os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(HERE, "runtime")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(HERE, "data")

import jupyter_kernel_test as jkt  # noqa: E402  (after JUPYTER_PATH is set)
import zmq  # noqa: E402
from jupyter_client.utils import run_sync  # noqa: E402

TIMEOUT = 15


def png_size(b64):
    """Width and height from the IHDR chunk of a base64 PNG."""
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", raw[16:24])


class LunetteKernelTests(jkt.KernelTests):
    kernel_name = "lunette"
    language_name = "lua"
    file_extension = ".lua"
    code_hello_world = "print('hello, world')"
    code_stderr = "io.stderr:write('oops\\n');"
    completion_samples = [
        {"text": "lt.embed.tsn", "matches": {"lt.embed.tsne", "lt.embed.tsne_affinities"}},
        {"text": "string.forma", "matches": {"string.format"}},
    ]
    complete_code_samples = ["x = 1", "1 + 1", "for i = 1, 2 do end", ""]
    incomplete_code_samples = ["for i = 1, 2 do", "f(1,", "x = ", "local s = [[abc"]
    invalid_code_samples = ["x = = 1", "end end", "1 +* 2"]
    code_generate_error = "error('boom')"
    code_execute_result = [
        {"code": "1 + 1", "result": "2"},
        {"code": "local x = 20\nx * 2", "result": "40"},
        {"code": "'a', 2", "result": "a\t2"},
    ]
    code_display_data = [
        {"code": "local f = lt.plot.Figure.new{size = {2, 1}, dpi = 50}\nlt.display.show(f)",
         "mime": "image/png"},
    ]
    code_inspect_sample = "lt.embed.tsne"
    code_history_pattern = "1 +*"
    supported_history_operations = ("tail", "range", "search")

    # ---- beyond jupyter_kernel_test -------------------------------------------------

    def run_cell(self, code, timeout=TIMEOUT):
        self.flush_channels()
        return self.execute_helper(code, timeout=timeout)

    def test_error_traceback(self):
        reply, out = self.run_cell("local function f() error('deep') end\nf()\nreturn 1")
        self.assertEqual(reply["content"]["status"], "error")
        err = [m for m in out if m["msg_type"] == "error"][0]["content"]
        self.assertEqual(err["ename"], "LuaError")
        self.assertIn("deep", err["evalue"])
        self.assertIn("stack traceback:", err["traceback"])
        n = reply["content"]["execution_count"]
        self.assertIn("\tcell[%d]:1: in local 'f'" % n, err["traceback"])
        self.assertIn("\tcell[%d]:2: in main chunk" % n, err["traceback"])

    def test_stop_on_error_aborts_queue(self):
        self.flush_channels()
        # The failing cell runs 0.2 s, so that the next request is queued by the time it fails.
        first = self.kc.execute("local t = os.clock()\nwhile os.clock() - t < 0.2 do end\n"
                                "error('stop')")
        queued = self.kc.execute("ran_after_error = true")
        replies = {}
        while len(replies) < 2:
            r = self.get_non_kernel_info_reply(timeout=TIMEOUT)
            replies[r["parent_header"]["msg_id"]] = r["content"]["status"]
        self.assertEqual(replies, {first: "error", queued: "aborted"})
        reply, out = self.run_cell("ran_after_error")
        res = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]
        self.assertEqual(res["text/plain"], "nil")

    def test_error_position_in_last_line(self):
        # The last line's value is returned without a tail call, so the cell keeps its frame.
        reply, out = self.run_cell("x = 1\nstring.rep()")
        n = reply["content"]["execution_count"]
        self.assertTrue(reply["content"]["evalue"].startswith("cell[%d]:2: bad argument" % n),
                        reply["content"]["evalue"])
        self.assertIn("\tcell[%d]:2: in main chunk" % n, reply["content"]["traceback"])

    def test_input_request(self):
        self.flush_channels()
        msg_id = self.kc.execute("local a, b = io.read('n', 'l')\nprint(a + 1, b)", allow_stdin=True)
        for answer in ("41", "text"):
            req = self.kc.get_stdin_msg(timeout=TIMEOUT)
            self.assertEqual(req["header"]["msg_type"], "input_request")
            self.assertEqual(req["parent_header"]["msg_id"], msg_id)
            self.kc.input(answer)
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)
        self.assertEqual(reply["content"]["status"], "ok")
        self.flush_channels()
        msg_id = self.kc.execute("assert(io.read() == nil)", allow_stdin=False)  # as nbclient
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)
        self.assertEqual((reply["parent_header"]["msg_id"], reply["content"]["status"]),
                         (msg_id, "ok"))

    def test_execution_count(self):
        r1, _ = self.run_cell("x = 1")
        r2, _ = self.run_cell("x = 2")
        self.assertEqual(r2["content"]["execution_count"], r1["content"]["execution_count"] + 1)

    def test_stream_order_and_c_output(self):
        # os.execute's child writes to descriptor 1 itself: C-side output is captured too.
        reply, out = self.run_cell("print('first')\nos.execute('echo from-child')\n"
                                   "io.write('last\\n')")
        text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
        self.assertEqual(text, "first\nfrom-child\nlast\n")

    def test_binary_output(self):
        # Bytes that are not UTF-8, and NUL, arrive as U+FFFD; the text after them too.
        reply, out = self.run_cell("io.write('a\\0b\\255c\\n')")
        text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
        self.assertEqual(text, "a\ufffdb\ufffdc\n")

    def test_figure_value_png(self):
        reply, out = self.run_cell(
            "local fig = lt.plot.Figure.new{size = {3, 2}, dpi = 50}\n"
            "fig:subplot(1, 1, 1):plot({1, 2, 3}, {1, 4, 9})\nfig")
        res = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]
        self.assertEqual(png_size(res["data"]["image/png"]), (150, 100))
        self.assertEqual(res["metadata"]["image/png"], {"width": 150, "height": 100})

    def test_display_svg_on_request(self):
        reply, out = self.run_cell("lt.display.show(lt.plot.Figure.new{size = {2, 1}}, "
                                   "{formats = {'png', 'svg'}})")
        data = [m for m in out if m["msg_type"] == "display_data"][0]["content"]["data"]
        self.assertEqual(png_size(data["image/png"]), (200, 100))
        self.assertIn("<svg", data["image/svg+xml"])
        self.assertFalse(any(m["msg_type"] == "execute_result" for m in out))

    def test_display_options(self):
        reply, out = self.run_cell("lt.display.show(lt.plot.Figure.new{size = {2, 1}}, {dpi = 30})")
        data = [m for m in out if m["msg_type"] == "display_data"][0]["content"]
        self.assertEqual(png_size(data["data"]["image/png"]), (60, 30))
        self.assertEqual(data["metadata"]["image/png"], {"width": 60, "height": 30})
        reply, out = self.run_cell("lt.display.show(lt.plot.Figure.new{}, {formts = {'svg'}})")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("unknown option 'formts'", reply["content"]["evalue"])

    def test_tensor_html(self):
        reply, out = self.run_cell("lt.tensor({{1, 2}, {3, 4}})")
        data = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]
        self.assertIn("[2x2]", data["text/plain"])
        self.assertEqual(data["text/html"].count("<tr>"), 2)
        reply, out = self.run_cell("lt.zeros(100, 100)")
        data = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]
        self.assertNotIn("text/html", data)

    def test_progress_in_place(self):
        reply, out = self.run_cell(
            "local bar = lt.data.progress(4, {interval = 0})\n"
            "for i = 1, 4 do bar:update() end\nbar:close()")
        text = "".join(m["content"]["text"] for m in out
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        self.assertIn("\r", text)
        self.assertNotIn("\x1b", text)
        self.assertEqual(text.count("\n"), 1)
        self.assertIn("4/4", text)

    def test_statement_cells_have_no_value(self):
        for code in ["for i = 1, 2 do\n  x = i\nend", "local t = {}\nt.a = 1", "y = 1\n-- done"]:
            reply, out = self.run_cell(code)
            self.assertEqual(reply["content"]["status"], "ok")
            self.assertEqual([m["msg_type"] for m in out if m["msg_type"] != "stream"], [], code)

    def test_kernel_info_on_control(self):
        self.kc.control_channel.send(self.kc.session.msg("kernel_info_request", {}))
        reply = run_sync(self.kc.control_channel.get_msg)(timeout=TIMEOUT)
        self.assertEqual(reply["header"]["msg_type"], "kernel_info_reply")
        self.assertEqual(reply["content"]["implementation"], "lunette")

    def test_trailing_semicolon_hides_value(self):
        reply, out = self.run_cell("1 + 1;")
        self.assertFalse(any(m["msg_type"] == "execute_result" for m in out))

    def test_complete_cursor_and_methods(self):
        self.flush_channels()
        self.run_cell("t = lt.zeros(2)")
        self.kc.complete("x = t:su", 8)
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)["content"]
        self.assertIn("t:sum", reply["matches"])
        self.assertEqual((reply["cursor_start"], reply["cursor_end"]), (4, 8))

    def test_inspect_unknown(self):
        self.flush_channels()
        self.kc.inspect("no_such_name", 5)
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertFalse(reply["found"])

    def interrupt_and_check(self, code, interrupt):
        self.flush_channels()
        msg_id = self.kc.execute(code)
        time.sleep(0.5)
        start = time.time()
        interrupt()
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "Interrupted")
        self.assertLess(time.time() - start, 5)
        reply, out = self.run_cell("1 + 2")  # still alive
        self.assertEqual(reply["content"]["status"], "ok")

    def test_interrupt_signal(self):
        self.interrupt_and_check("while true do end", self.km.interrupt_kernel)

    def test_interrupt_message(self):
        def send():
            self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
            reply = run_sync(self.kc.control_channel.get_msg)(timeout=TIMEOUT)
            self.assertEqual(reply["header"]["msg_type"], "interrupt_reply")
        # A long call into C (matrix products), as Ctrl-C interrupts it in the REPL.
        self.interrupt_and_check(
            "local t = lt.randn(300, 300)\nwhile true do t = t:matmul(t) * 1e-3 end", send)

    def test_hostile_messages(self):
        """Garbage, a bad signature, an unknown type: logged and dropped; the kernel serves."""
        info = self.km.get_connection_info()
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.connect("tcp://%s:%d" % (info["ip"], info["shell_port"]))
        session = self.kc.session
        sock.send_multipart([b"garbage"])
        sock.send_multipart([b"<IDS|MSG>", b"sig", b"{", b"{}", b"{}", b"{}"])
        good = session.serialize(session.msg("kernel_info_request", {}))
        bad = list(good)
        bad[1] = b"0" * 64
        sock.send_multipart(bad)
        sock.send_multipart(session.serialize(session.msg("no_such_request", {})))
        unsigned = list(good)
        unsigned[3] = b"[1, 2]"  # parent header not a dict, signature recomputed
        unsigned[1] = session.sign(unsigned[2:6])
        sock.send_multipart(unsigned)
        sock.send_multipart(session.serialize(session.msg("kernel_info_request", {})))
        self.assertTrue(sock.poll(TIMEOUT * 1000))
        frames = sock.recv_multipart()
        header = json.loads(frames[frames.index(b"<IDS|MSG>") + 2])
        self.assertEqual(header["msg_type"], "kernel_info_reply")
        self.assertFalse(sock.poll(500), "only the well-formed request is answered")
        sock.close(0)
        reply, out = self.run_cell("print('still here')")
        self.assertEqual(reply["content"]["status"], "ok")

    def test_orphan_exits(self):
        """A kernel whose starter dies without a shutdown exits instead of running on."""
        import subprocess
        from jupyter_client.connect import write_connection_file
        conn = os.path.join(HERE, "orphan.json")
        write_connection_file(conn, ip="127.0.0.1", key=b"k")
        # sh starts the kernel in the background and exits a second later, orphaning it.
        out = subprocess.run(["sh", "-c", '"$0" --kernel "$1" 2>/dev/null & echo $!; sleep 1',
                              os.environ["LUNETTE_KERNEL_BIN"], conn],
                             capture_output=True, text=True, timeout=TIMEOUT)
        pid = int(out.stdout.strip())
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.kill(pid, 9)
        self.fail("the orphaned kernel is still running")

    def test_zz_restart(self):
        self.run_cell("kept = 1")
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=TIMEOUT)
        reply, out = self.run_cell("kept")
        res = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]
        self.assertEqual(res["text/plain"], "nil")
        self.assertEqual(reply["content"]["execution_count"], 1)


def main():
    """Runs every test and prints one line per test, "RESULT <name> ok|skip|FAIL", then the
    failures' tracebacks (tests/kernel_spec.lua reads the lines)."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(LunetteKernelTests)
    result = unittest.TestResult()
    suite.run(result)
    failed = {t.id().split(".")[-1]: tb for t, tb in result.failures + result.errors}
    skipped = {t.id().split(".")[-1] for t, _ in result.skipped}
    for name in unittest.defaultTestLoader.getTestCaseNames(LunetteKernelTests):
        verdict = "FAIL" if name in failed else "skip" if name in skipped else "ok"
        print("RESULT", name, verdict)
    for name, tb in failed.items():
        print("\n---- %s\n%s" % (name, tb))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
