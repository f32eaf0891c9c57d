"""The fakes that issue 12's integration tests drive the gateway against, checked on their own:
fake_hub (a Space's runtime, pause and restart on the Hub API, backend-protocols.md §1.6) and
fake_pod_api (a pod API's stop/start, §2.5, and the pod's own worker). What they answer must be
what the real services answer, or the gateway's tests would prove nothing."""
import json
import time
import urllib.error
import urllib.request

import fake_hub
import fake_pod_api
from conftest import wait_until


def call(url, method="GET", token=None, data=None):
    """(status, JSON body) of one request."""
    request = urllib.request.Request(url, method=method, data=data)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_hub_runtime_pause_restart_cycle():
    hub = fake_hub.start()
    try:
        hub.add_space("owner/s1", token="hf_one", stage="RUNNING", restart_polls=2)
        base = hub.url + "/api/spaces/owner/s1"
        status, body = call(base + "/runtime", token="hf_one")
        assert status == 200 and body["stage"] == "RUNNING" and body["hardware"]["current"] == "t4-small"
        status, body = call(base + "/pause", "POST", token="hf_one", data=b"")
        # The cassette's shape: stage PAUSED, hardware.current null.
        assert status == 200 and body["stage"] == "PAUSED" and body["hardware"] == {"current": None, "requested": "t4-small"}
        assert call(base + "/runtime", token="hf_one")[1]["stage"] == "PAUSED"
        assert not hub.is_serving("owner/s1")
        status, body = call(base + "/restart", "POST", token="hf_one", data=b"")
        assert status == 200 and body["stage"] == "BUILDING"
        # Two reads still see it building, the third sees it running.
        stages = [call(base + "/runtime", token="hf_one")[1]["stage"] for _ in range(3)]
        assert stages == ["BUILDING", "BUILDING", "RUNNING"]
        assert hub.is_serving("owner/s1")
        space = hub.space("owner/s1")
        assert (space.pauses, space.restarts) == (1, 1)
        ops = [(c.method, c.op, c.authorization, c.status) for c in hub.calls(space="owner/s1")]
        assert ops[:4] == [("GET", "runtime", "Bearer hf_one", 200), ("POST", "pause", "Bearer hf_one", 200),
                           ("GET", "runtime", "Bearer hf_one", 200), ("POST", "restart", "Bearer hf_one", 200)]
        assert len(hub.calls(op="runtime")) == 5
    finally:
        hub.close()


def test_hub_restart_by_seconds_and_scripted_answers():
    hub = fake_hub.start()
    try:
        hub.add_space("owner/s2", token="hf_two", stage="PAUSED", restart_polls=None, restart_seconds=0.2)
        hub.add_space("owner/s3", token="hf_three", stage="SOME_NEW_STAGE", error_message="boom")
        base = hub.url + "/api/spaces/owner/s2"
        started = time.monotonic()
        assert call(base + "/restart", "POST", token="hf_two", data=b"")[1]["stage"] == "BUILDING"
        assert call(base + "/runtime", token="hf_two")[1]["stage"] == "BUILDING"
        assert wait_until(lambda: hub.stage("owner/s2") == "RUNNING", 5)
        assert time.monotonic() - started >= 0.2
        body = call(hub.url + "/api/spaces/owner/s3/runtime", token="hf_three")[1]
        assert body["stage"] == "SOME_NEW_STAGE" and body["errorMessage"] == "boom"
        # Auth and addressing as the Hub: none 401, another token 403, unknown 404.
        assert call(base + "/runtime")[0] == 401
        assert call(base + "/runtime", token="hf_three")[0] == 403
        assert call(hub.url + "/api/spaces/owner/nope/runtime", token="hf_two")[0] == 404
        assert call(base + "/pause", token="hf_two")[0] == 405          # GET on a POST operation
        hub.space("owner/s2").fail["pause"] = 500
        assert call(base + "/pause", "POST", token="hf_two", data=b"")[0] == 500
        assert hub.stage("owner/s2") == "RUNNING"                      # a failed pause changes nothing
        hub.set_stage("owner/s2", "SLEEPING")
        assert call(base + "/runtime", token="hf_two")[1]["stage"] == "SLEEPING"
        refused = [c for c in hub.calls() if c.status in (401, 403)]
        assert [c.authorization for c in refused] == [None, "Bearer hf_three"]
    finally:
        hub.close()


def test_pod_api_stop_start_and_the_pods_worker():
    api = fake_pod_api.start()
    try:
        pod = api.add_pod("p1")
        key = fake_pod_api.API_KEY
        worker = api.url + "/proxy/p1/v1/chat/completions"
        chat = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
        status, body = call(worker, "POST", data=chat)
        assert status == 200 and body["object"] == "chat.completion"
        status, body = call(api.url + "/v1/pods/p1/stop?reason=idle", "POST", token=key, data=b"")
        assert status == 200 and body["desiredStatus"] == "EXITED"
        assert call(api.url + "/v1/pods/p1", token=key)[1]["desiredStatus"] == "EXITED"
        assert call(worker, "POST", data=chat)[0] == 502            # a stopped pod serves nothing
        pod.wake_on_request = True
        assert call(worker, "POST", data=chat)[0] == 200            # ...unless a request wakes it
        assert (pod.stops, pod.wakes_by_request, pod.status) == (1, 1, "RUNNING")
        assert call(api.url + "/v1/pods/p1/stop", "POST", data=b"")[0] == 401
        assert call(api.url + "/v1/pods/zz/stop", "POST", token=key, data=b"")[0] == 400
        assert call(api.url + "/elsewhere", "DELETE", token=key)[0] == 404
        stops = api.stop_calls("p1")
        assert [(c.path, c.headers.get("authorization"), c.status) for c in stops] == [
            ("/v1/pods/p1/stop?reason=idle", f"Bearer {key}", 200), ("/v1/pods/p1/stop", None, 401)]
        assert [c.method for c in api.calls() if c.op is None] == ["DELETE"]
        assert len(api.calls(pod="p1", op="proxy")) == 3
    finally:
        api.close()
