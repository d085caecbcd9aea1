"""Trainyard's server for Python script handlers (SageMaker inference-toolkit hooks).

Run by an endpoint instance as ``/usr/bin/python3 script_handler_server.py --code-dir DIR --program
inference.py``, with SM_MODEL_DIR (the extracted model archive) and SAGEMAKER_BIND_TO_PORT set.
It imports the program from the code directory, calls ``model_fn(model_dir)`` once, then answers
``GET /ping`` with 200 and ``POST /invocations`` through ``input_fn`` -> ``predict_fn`` ->
``output_fn`` (or ``transform_fn``), using the toolkit's defaults for hooks the program leaves
out. Standard library only, plus numpy for the default decoders and encoders.
"""

import argparse
import importlib.util
import io
import json
import os
import signal
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY_BYTES = 6 * 1024 * 1024
JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
JSON_LINES = ("application/jsonlines", "application/x-jsonlines", "application/jsonl")


class HttpError(Exception):
    """An error answered with its own status (4xx) instead of 500."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _numpy():
    import numpy

    return numpy


def default_model_fn(model_dir):
    raise NotImplementedError(
        "the program defines no model_fn(model_dir); a script handler must load its model"
    )


def default_input_fn(input_data, content_type):
    """Decodes json, csv, jsonlines or npy to a numpy array (float32 for the text types)."""
    np = _numpy()
    if content_type == NPY:
        return np.load(io.BytesIO(input_data), allow_pickle=False)
    text = input_data.decode("utf-8") if isinstance(input_data, (bytes, bytearray)) else input_data
    try:
        if content_type == JSON:
            array = np.array(json.loads(text))
        elif content_type == CSV:
            # One CSV row is one row of a 2-D array, as predict() wants it.
            array = np.genfromtxt(io.StringIO(text), delimiter=",", ndmin=2)
        elif content_type in JSON_LINES:
            array = np.array([json.loads(line) for line in text.splitlines() if line.strip()])
        else:
            raise HttpError(
                415,
                f"content type {content_type!r} is not supported by the default input_fn; "
                "use application/json, text/csv, application/jsonlines or application/x-npy, or define input_fn",
            )
        return array.astype(np.float32)
    except HttpError:
        raise
    except ValueError as error:
        raise HttpError(400, f"the {content_type} body cannot be read as numbers: {error}") from error


def default_predict_fn(data, model):
    if not hasattr(model, "predict"):
        raise NotImplementedError("the model model_fn returned has no predict(data); define predict_fn")
    return model.predict(data)


def default_output_fn(prediction, accept):
    """Encodes a prediction as json, csv, jsonlines or npy."""
    np = _numpy()
    if hasattr(prediction, "tolist"):
        values = prediction.tolist()
    else:
        values = prediction
    if accept == JSON:
        return json.dumps(values)
    if accept in JSON_LINES:
        rows = values if isinstance(values, list) else [values]
        return "".join(json.dumps(row) + "\n" for row in rows)
    if accept == CSV:
        stream = io.StringIO()
        np.savetxt(stream, np.atleast_1d(np.asarray(prediction)), delimiter=",", fmt="%s")
        return stream.getvalue()
    if accept == NPY:
        stream = io.BytesIO()
        np.save(stream, np.asarray(prediction), allow_pickle=False)
        return stream.getvalue()
    raise HttpError(
        406,
        f"Accept {accept!r} is not supported by the default output_fn; "
        "use application/json, text/csv, application/jsonlines or application/x-npy, or define output_fn",
    )


def load_program(code_dir, program):
    path = os.path.join(code_dir, program)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'SAGEMAKER_PROGRAM "{program}" is not in the code directory')
    # The program imports its neighbours, as it would from /opt/ml/code.
    sys.path.insert(0, os.path.dirname(path))
    name = os.path.splitext(os.path.basename(program))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def media_type(header):
    if not header:
        return None
    value = header.split(",")[0].split(";")[0].strip().lower()
    return value or None


class Handlers:
    """The hooks to call, with the toolkit's defaults; transform_fn replaces the other three."""

    def __init__(self, module, default_accept):
        self.model_fn = getattr(module, "model_fn", default_model_fn)
        self.transform_fn = getattr(module, "transform_fn", None)
        custom = [n for n in ("input_fn", "predict_fn", "output_fn") if hasattr(module, n)]
        if self.transform_fn and custom:
            raise ValueError(
                "transform_fn cannot be combined with " + ", ".join(custom) + ": define one or the other"
            )
        self.input_fn = getattr(module, "input_fn", default_input_fn)
        self.predict_fn = getattr(module, "predict_fn", default_predict_fn)
        self.output_fn = getattr(module, "output_fn", default_output_fn)
        self.default_accept = default_accept
        self.model = None

    def invoke(self, body, content_type, accept):
        if self.transform_fn:
            result = self.transform_fn(self.model, body, content_type, accept)
        else:
            data = self.input_fn(body, content_type)
            prediction = self.predict_fn(data, self.model)
            result = self.output_fn(prediction, accept)
        # A (body, content type) pair is what the toolkit's transformer also accepts.
        if isinstance(result, tuple) and len(result) == 2:
            result, accept = result
        if isinstance(result, str):
            result = result.encode("utf-8")
        if not isinstance(result, (bytes, bytearray)):
            raise TypeError(f"output_fn returned {type(result).__name__}; return str or bytes")
        return bytes(result), accept


def make_request_handler(handlers):
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

        def _send(self, status, body, content_type="text/plain"):
            data = body.encode("utf-8") if isinstance(body, str) else body
            head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
            if self.close_connection:
                head += "Connection: close\r\n"
            # Status, headers and body in one write: with keep-alive, a second small write would
            # wait for the client's delayed ACK (~40 ms a request).
            self.wfile.write(head.encode("latin-1") + b"\r\n" + data)

        def do_GET(self):
            if self.path == "/ping":
                self._send(200, b"")
            else:
                self._send(404, f"no route GET {self.path}\n")

        def _read_chunked(self):
            parts, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                chunk = int(line.split(b";")[0].strip() or b"x", 16)
                if chunk == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                size += chunk
                if size > MAX_BODY_BYTES:
                    raise OverflowError
                parts.append(self.rfile.read(chunk))
                self.rfile.readline(1024)

        def _read_body(self):
            """The request body; None after answering an unreadable or too large one."""
            try:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    return self._read_chunked()
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0:
                    raise ValueError(length)
                if length > MAX_BODY_BYTES:
                    # Read it away (up to a bound), so the client gets the answer, not a broken pipe.
                    left = min(length, 8 * MAX_BODY_BYTES)
                    while left > 0:
                        got = self.rfile.read(min(left, 65536))
                        if not got:
                            break
                        left -= len(got)
                    raise OverflowError
                return self.rfile.read(length) if length > 0 else b""
            except OverflowError:
                self.close_connection = True
                self._send(413, "the body is larger than 6 MiB")
            except ValueError:
                self.close_connection = True
                self._send(400, "the body's length cannot be read (Content-Length or chunked encoding)")
            return None

        def do_POST(self):
            body = self._read_body()
            if body is None:
                return
            if self.path != "/invocations":
                self._send(404, f"no route POST {self.path}\n")
                return
            if not body:
                self._send(400, "the body is empty")
                return
            content_type = media_type(self.headers.get("Content-Type")) or JSON
            wanted = media_type(self.headers.get("Accept"))
            accept = handlers.default_accept if wanted in (None, "*/*") else wanted
            try:
                data, answer_type = handlers.invoke(body, content_type, accept)
            except HttpError as error:
                self._send(error.status, str(error))
                return
            except Exception as error:  # the model's own failure: 500 with its message
                traceback.print_exc()
                self._send(500, f"{type(error).__name__}: {error}")
                return
            self._send(200, data, answer_type)

    return RequestHandler


def serve(args, server, report):
    """One worker: loads the program and the model, then answers on the shared listening socket."""
    model_dir = os.environ["SM_MODEL_DIR"]
    default_accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON
    try:
        handlers = Handlers(load_program(args.code_dir, args.program), default_accept)
    except Exception as error:
        fail(report, f"{args.program} could not be loaded: {type(error).__name__}: {error}")
    try:
        handlers.model = handlers.model_fn(model_dir)
    except Exception as error:
        fail(report, f"model_fn failed: {type(error).__name__}: {error}")
    server.RequestHandlerClass = make_request_handler(handlers)
    print(f"script handler {args.program}: worker {os.getpid()} serving", flush=True)
    server.serve_forever()


def fail(report, message):
    traceback.print_exc()
    sys.stderr.flush()
    if report is not None:
        os.write(report, (message + "\n").encode("utf-8", "replace")[:4000])
    else:
        print(message, file=sys.stderr, flush=True)
    os._exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--program", required=True)
    args = parser.parse_args()
    port = int(os.environ["SAGEMAKER_BIND_TO_PORT"])
    workers = max(1, min(64, int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS") or 1)))
    # The socket is bound before the workers start, so they all accept on it.
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    server.daemon_threads = True
    if workers == 1:
        serve(args, server, None)
        return
    # Each worker imports the program and runs model_fn itself, as the toolkit's model server does:
    # forking after model_fn could hang libraries that started threads (OpenMP) in the parent.
    read_end, write_end = os.pipe()
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            serve(args, server, write_end)
            os._exit(0)
        children.append(pid)
    os.close(write_end)
    server.socket.close()

    def stop(signum, _frame):
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for child in children:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    # A worker that ends ends the instance (the supervisor restarts it whole); its reason is the last line.
    _pid, status = os.wait()
    for child in children:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.set_blocking(read_end, False)
    try:
        reason = os.read(read_end, 4000).decode("utf-8", "replace").splitlines()
    except BlockingIOError:
        reason = []
    print(reason[0] if reason else f"a worker ended (status {status})", file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
