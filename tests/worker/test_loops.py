"""Each background loop's run_once(), without threads."""

import time
from datetime import timedelta

from dmq_tools.rdb import keys
from dmq_tools.rdb.worker_ops import Outcome, ServerState
from dmq_tools.worker.loops import Forwarder, Heartbeat, Janitor, Recoverer, Syncer
from dmq_tools.worker.processor import Processor
from tests.helpers.seed_worker import events, message, seed_active, seed_zset, stored
from tests.worker.conftest import fast_config

Q = "default"


def test_recoverer_retries_or_archives_lease_expired(r, rdb):
    cfg = fast_config(lease_duration=timedelta(seconds=30))
    young = seed_active(r, message(retried=0, retry=3), lease_expiry=time.time() - 31)
    spent = seed_active(r, message(retried=3, retry=3), lease_expiry=time.time() - 31)
    fresh = seed_active(r, message(), lease_expiry=time.time() - 5)      # not yet past the cutoff
    assert Recoverer(rdb, cfg, "w").run_once() == 2
    state, msg = stored(r, Q, young.id)
    assert state == "retry" and msg.error_msg == "asynq: task lease expired" and msg.retried == 1
    state, msg = stored(r, Q, spent.id)
    assert state == "archived" and msg.error_msg == "asynq: task lease expired"
    assert stored(r, Q, fresh.id)[0] == "active"
    assert {e["e"] for e in events(r, Q)} == {"recovered", "archived"}


def test_forwarder_and_janitor_run_once(r, rdb):
    cfg = fast_config()
    due = seed_zset(r, message(), "scheduled", time.time() - 1)
    done = seed_zset(r, message(), "completed", time.time() - 1)
    assert Forwarder(rdb, cfg).run_once() == 1
    assert r.lrange(keys.pending(Q), 0, -1) == [due.id.encode()]
    assert Janitor(rdb, cfg).run_once() == 1
    assert not r.exists(keys.task(Q, done.id))


def test_heartbeat_run_once_writes_presence(r, rdb):
    cfg = fast_config()
    p = Processor(rdb, lambda t: None, cfg, "w")
    st = ServerState.new(cfg.concurrency, cfg.queues, False)
    Heartbeat(rdb, p, st, cfg).run_once()
    assert r.exists(keys.server_info(st.host, st.pid, st.server_id))
    assert r.zscore(keys.ALL_SERVERS, keys.server_info(st.host, st.pid, st.server_id)) > time.time()


def test_syncer_writes_backlog_and_drops_expired(r, rdb):
    cfg = fast_config()
    p = Processor(rdb, lambda t: None, cfg, "w")
    ok = seed_active(r, message())
    late = seed_active(r, message())
    p.sync_backlog = [(Outcome("done", ok, ok.id, Q), time.time() + 30),
                      (Outcome("done", late, late.id, Q), time.time() - 1)]
    assert Syncer(p, cfg).run_once() == 1
    assert not r.exists(keys.task(Q, ok.id))
    assert r.exists(keys.task(Q, late.id)) and p.sync_backlog == []    # left to the recoverer
