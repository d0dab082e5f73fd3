"""Fixtures for the Tandem end-to-end suite.

* `tandem_server`      - session-wide default instance; yields its base URL (http://127.0.0.1:PORT).
* `tandem_factory`     - session-wide factory: `tandem_factory(name, [extra flags])` -> TandemServer.
* `bundled_server`     - session-wide instance with a copy of the bundled adapters.
* `auth_server`, `small_body_server`, `short_context_server` - dedicated instances started through the
  factory with `--api-key`, `--max-body-bytes` and `--max-model-len 256`.

Every instance: a free port, an empty temporary adapters directory, stdout+stderr captured to a log file
whose tail is attached to the report of any failing test. On teardown each instance gets SIGTERM and must
exit with code 0 within 30 s.

The whole suite is skipped (with the reason) when the release binary, its `serve` subcommand or the
model file is missing. Paths can be overridden with TANDEM_BIN and TANDEM_MODEL.
"""
from __future__ import annotations

import shutil

import pytest

from support import (MODEL_PATH, REPO, SHUTDOWN_TIMEOUT_S, TANDEM_BIN, TandemServer, has_serve_subcommand)

API_KEY = "tandem-e2e-secret"
SMALL_BODY_LIMIT = 4096
SHORT_CONTEXT = 256

_STARTED: list[TandemServer] = []


# ---------------------------------------------------------------------------------------------
# Server log tails on failures
# ---------------------------------------------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in _STARTED:
            report.sections.append((f"tandem server log tail: {server.name} (port {server.port})",
                                    f"{server.describe()}\n{server.log_tail(40)}"))


# ---------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tandem_binary():
    if not TANDEM_BIN.is_file():
        pytest.skip(f"{TANDEM_BIN} is missing: build it with `swift build -c release` first")
    if not has_serve_subcommand(TANDEM_BIN):
        pytest.skip(f"{TANDEM_BIN} has no `serve` subcommand (stale build?): rebuild with "
                    f"`swift build -c release`")
    return TANDEM_BIN


@pytest.fixture(scope="session")
def model_path():
    if not MODEL_PATH.is_file():
        pytest.skip(f"{MODEL_PATH} is missing: run `make setup`")
    return MODEL_PATH


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("adapters")


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

def _stop_and_check(server: TandemServer) -> None:
    if not server.alive():
        code = server.proc.returncode if server.proc is not None else None
        pytest.fail(f"tandem serve [{server.name}] died during the session (exit code {code})\n"
                    f"--- log tail ---\n{server.log_tail()}", pytrace=False)
    code = server.terminate(SHUTDOWN_TIMEOUT_S)
    if code is None:
        pytest.fail(f"tandem serve [{server.name}] did not exit within {SHUTDOWN_TIMEOUT_S} s of SIGTERM "
                    f"(killed)\n--- log tail ---\n{server.log_tail()}", pytrace=False)
    assert code == 0, (f"tandem serve [{server.name}] exited with code {code} after SIGTERM\n"
                       f"--- log tail ---\n{server.log_tail()}")


@pytest.fixture(scope="session")
def tandem_factory(tandem_binary, model_path, adapters_dir, tmp_path_factory):
    """`start(name, extra_args)` launches another instance and waits for /health; instances still
    running at the end of the session get SIGTERM (their exit codes are checked by the fixtures
    that own them)."""
    log_dir = tmp_path_factory.mktemp("tandem-logs")
    mine: list[TandemServer] = []

    def start(name: str, extra_args: list[str] | None = None) -> TandemServer:
        server = TandemServer(name, tandem_binary, model_path, adapters_dir, log_dir, extra_args)
        _STARTED.append(server)
        mine.append(server)
        try:
            server.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        return server

    yield start

    for server in mine:
        if server.alive():
            server.terminate(SHUTDOWN_TIMEOUT_S)


@pytest.fixture(scope="session")
def tandem_instance(tandem_factory):
    """The default instance as a TandemServer object."""
    server = tandem_factory("default")
    yield server
    _stop_and_check(server)


@pytest.fixture(scope="session")
def tandem_server(tandem_instance):
    """Base URL of the default instance, e.g. http://127.0.0.1:43123."""
    return tandem_instance.url


@pytest.fixture(scope="session")
def bundled_server(tandem_binary, model_path, tmp_path_factory):
    """Base URL of one server with a copy of the bundled adapters (ticket-triage answers in JSON,
    pirate-style does not), shared by the modules that drive them as they ship."""
    folder = tmp_path_factory.mktemp("bundled-adapters") / "adapters"
    shutil.copytree(REPO / "adapters", folder)
    server = TandemServer("bundled", tandem_binary, model_path, folder, tmp_path_factory.mktemp("bundled-logs"))
    server.start()
    _STARTED.append(server)
    yield server.url
    _stop_and_check(server)


@pytest.fixture(scope="session")
def auth_server(tandem_factory):
    server = tandem_factory("api-key", ["--api-key", API_KEY])
    server.api_key = API_KEY
    yield server
    _stop_and_check(server)


@pytest.fixture(scope="session")
def small_body_server(tandem_factory):
    server = tandem_factory("max-body-bytes", ["--max-body-bytes", str(SMALL_BODY_LIMIT)])
    server.max_body_bytes = SMALL_BODY_LIMIT
    yield server
    _stop_and_check(server)


@pytest.fixture(scope="session")
def short_context_server(tandem_factory):
    server = tandem_factory("max-model-len", ["--max-model-len", str(SHORT_CONTEXT)])
    server.max_model_len = SHORT_CONTEXT
    yield server
    _stop_and_check(server)
