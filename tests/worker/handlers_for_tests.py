"""Handlers importable by module:qualname, for the process-pool tests."""

import time


def sleepy(task):
    time.sleep(60)          # ignores its deadline: the process pool must kill it


def echo(task):
    return {"got": task.json(), "id": task.id}
