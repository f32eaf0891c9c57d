"""The real `openai` Python SDK against Tollgate: chat, streamed chat, embeddings, errors."""
import openai
import pytest

from conftest import USER_KEY, OTHER_KEY


def client(gateway, key=USER_KEY):
    return openai.OpenAI(base_url=gateway.base + "/v1", api_key=key, max_retries=0, timeout=20)


def test_chat(gateway, upstream):
    reply = client(gateway).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello from upstream"
    assert reply.usage.prompt_tokens == 11


def stream_text_and_usage(stream):
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        else:
            assert chunk.usage is not None   # the only chunk without choices is the usage one
        if chunk.usage:
            usage = chunk.usage
    return text, usage


def test_streamed_chat_carries_usage_when_asked(gateway, upstream):
    _, recorder = upstream
    stream = client(gateway).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True})
    text, usage = stream_text_and_usage(stream)
    assert text == "Hello from upstream"
    assert usage is not None and usage.completion_tokens == 7
    assert recorder.last()["body"]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("options", [None, {"include_usage": False}])
def test_streamed_chat_is_metered_but_usage_chunk_withheld_when_not_asked(gateway, upstream, options):
    """As OpenAI: no usage chunk unless asked (clients that read choices[0] of every chunk
    would break on it). The upstream is asked anyway, so the access log has the tokens."""
    import json
    import time
    _, recorder = upstream
    extra = {"stream_options": options} if options is not None else {}
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True, **extra)
    rid = raw.headers.get("x-request-id")
    text, usage = stream_text_and_usage(raw.parse())
    assert text == "Hello from upstream"
    assert usage is None
    assert recorder.last()["body"]["stream_options"] == {"include_usage": True}
    deadline = time.monotonic() + 5
    line = None
    while line is None and time.monotonic() < deadline:
        line = next((json.loads(l) for l in gateway.access_log() if json.loads(l).get("id") == rid
                     or json.loads(l).get("client_request_id") == rid), None)
        time.sleep(0.02)
    assert line is not None and line["completion_tokens"] == 7


def test_embeddings(gateway):
    result = client(gateway).embeddings.create(model="embed", input="hello")
    assert result.data[0].embedding == [0.1, 0.2, 0.3]


def test_simulated_backend_chat_stream_and_embeddings(gateway):
    c = client(gateway)
    reply = c.chat.completions.create(model="sim-chat", messages=[{"role": "user", "content": "hi"}])
    assert "simulated" in reply.choices[0].message.content
    pieces = [ch.choices[0].delta.content or "" for ch in
              c.chat.completions.create(model="sim-chat", messages=[{"role": "user", "content": "hi"}], stream=True)
              if ch.choices]
    assert len(pieces) > 3 and "simulated" in "".join(pieces)
    emb = c.embeddings.create(model="sim-embed", input=["a", "b", "c"])
    assert len(emb.data) == 3 and len(emb.data[0].embedding) == 8


def test_models_lists_what_the_key_may_use(gateway):
    ids = {m.id for m in client(gateway, OTHER_KEY).models.list()}
    assert ids == {"gpt-test"}
    assert "sim-chat" in {m.id for m in client(gateway).models.list()}


def test_401_for_a_wrong_key(gateway):
    with pytest.raises(openai.AuthenticationError) as err:
        client(gateway, "tg-wrong").chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 401
    assert err.value.body["code"] == "invalid_api_key"


def test_404_for_an_unknown_model(gateway):
    with pytest.raises(openai.NotFoundError) as err:
        client(gateway).chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert err.value.body["code"] == "model_not_found"


def test_403_for_a_model_outside_the_users_list(gateway):
    with pytest.raises(openai.PermissionDeniedError) as err:
        client(gateway, OTHER_KEY).chat.completions.create(model="sim-chat", messages=[{"role": "user", "content": "x"}])
    assert err.value.body["code"] == "model_not_allowed"


def test_502_when_the_backend_fails(gateway):
    with pytest.raises(openai.InternalServerError) as err:
        client(gateway).chat.completions.create(model="fail-500", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 502
    assert "GPU exploded" in err.value.body["message"]
