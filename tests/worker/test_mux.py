import pytest

from dmq_tools import Task
from dmq_tools.errors import ConfigurationError, HandlerNotFoundError
from dmq_tools.worker import ServeMux


def make(task_type):
    return Task(task_type, {})


def test_exact_match_wins_over_prefix():
    mux = ServeMux()
    mux.handle("email:", lambda t: "prefix")
    mux.handle("email:welcome", lambda t: "exact")
    assert mux.process_task(make("email:welcome")) == "exact"
    assert mux.process_task(make("email:reminder")) == "prefix"


def test_longest_prefix_wins():
    mux = ServeMux()

    @mux.handle("image:")
    def short(t):
        return "short"

    @mux.handle("image:resize:")
    def long(t):
        return "long"

    assert mux.process_task(make("image:resize:small")) == "long"
    assert mux.process_task(make("image:crop")) == "short"
    assert mux.match("image:resize:x")[1] == "image:resize:"


def test_not_found_has_asynq_text():
    mux = ServeMux()
    with pytest.raises(HandlerNotFoundError) as info:
        mux.process_task(make("nope"))
    assert str(info.value) == 'handler not found for task "nope"'


def test_middleware_order_and_wrapping():
    mux = ServeMux()
    calls = []

    def mw(name):
        def middleware(nxt):
            def h(task):
                calls.append(f"{name}>")
                out = nxt(task)
                calls.append(f"<{name}")
                return out
            return h
        return middleware

    mux.use(mw("a"), mw("b"))
    mux.handle("x", lambda t: calls.append("handler") or "ok")
    assert mux.process_task(make("x")) == "ok"
    assert calls == ["a>", "b>", "handler", "<b", "<a"]


def test_bad_registrations():
    mux = ServeMux()
    with pytest.raises(ConfigurationError):
        mux.handle("  ", lambda t: None)
    mux.handle("a", lambda t: None)
    with pytest.raises(ConfigurationError):
        mux.handle("a", lambda t: None)
