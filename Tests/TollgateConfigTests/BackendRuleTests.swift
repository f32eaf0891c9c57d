// SPDX-License-Identifier: Apache-2.0
// Validation rules of `backends:`: kinds, kind-only keys, URLs, pricing, policies.
import Testing
import TollgateConfig

private let kinds = "openai | hf_space | runpod | modal | replicate | http | simulated"

let backendRuleCases: [RuleCase] = [
    RuleCase("backend without kind", """
        backends:
          gpu:                # E1
            url: http://10.0.0.5:8000
        """, ["t.yaml:{E1}: backends.gpu: missing required key 'kind' (\(kinds))"]),
    RuleCase("kind typo; the other keys are still checked", """
        backends:
          gpu:
            kind: opneai      # E1
            url: http://10.0.0.5:8000
            max_concurrency: -1   # E2
            circuit: { failures: x }   # E3
        """, ["t.yaml:{E1}: backends.gpu.kind: expected \(kinds), got 'opneai' (did you mean 'openai'?)",
              "t.yaml:{E2}: backends.gpu.max_concurrency: must not be negative, got -1",
              "t.yaml:{E3}: backends.gpu.circuit.failures: expected a whole number, got 'x'"]),
    RuleCase("openai without url", """
        backends:
          gpu:                # E1
            kind: openai
        """, ["t.yaml:{E1}: backends.gpu: missing required key 'url' (kind openai needs the server's base URL, e.g. http://10.0.0.5:8000/v1)"]),
    RuleCase("urls: scheme, userinfo, query, fragment, port", """
        backends:
          a: { kind: openai, url: "ftp://10.0.0.5/v1" }              # E1
          b: { kind: openai, url: "http://user:pw@10.0.0.5:8000" }   # E2
          c: { kind: openai, url: "http://10.0.0.5:8000/v1?x=1" }    # E3
          d: { kind: http, url: "https://svc.lan/#frag" }            # E4
          e: { kind: http, url: "http://svc.lan:0" }                 # E5
          f: { kind: http, url: "http://[::1:8000" }                 # E6
        """, ["t.yaml:{E1}: backends.a.url: 'ftp://10.0.0.5/v1' must start with http:// or https://",
              "t.yaml:{E2}: backends.b.url: 'http://…@10.0.0.5:8000' must not contain a user name or password (put credentials in api_key)",
              "t.yaml:{E3}: backends.c.url: 'http://10.0.0.5:8000/v1?x=1' must not have a query (?…); a base URL is a scheme, host, port and path",
              "t.yaml:{E4}: backends.d.url: 'https://svc.lan/#frag' must not have a fragment (#…)",
              "t.yaml:{E5}: backends.e.url: 'http://svc.lan:0' has an invalid port (1-65535)",
              "t.yaml:{E6}: backends.f.url: 'http://[::1:8000' has no valid host"]),
    RuleCase("runpod without endpoint_id and api_key", """
        backends:
          rp:                 # E1
            kind: runpod
        """, ["t.yaml:{E1}: backends.rp: missing required key 'api_key' (the RunPod API always needs one)",
              "t.yaml:{E1}: backends.rp: missing required key 'endpoint_id' (the serverless endpoint's id)"]),
    RuleCase("runpod api_key that expands to nothing", """
        backends:
          rp:
            kind: runpod
            endpoint_id: abc123xyz
            api_key: ${RUNPOD_API_KEY:-}   # E1
        """, ["t.yaml:{E1}: backends.rp.api_key: is empty (the RunPod API always needs one)"]),
    RuleCase("hf_space without space or url", """
        backends:
          space:              # E1
            kind: hf_space
            api_name: /edit
        """, ["t.yaml:{E1}: backends.space: hf_space needs 'space' (owner/name on the Hub) or 'url' (https://<sub>.hf.space)"]),
    RuleCase("hf_space bad space and api_name", """
        backends:
          space:
            kind: hf_space
            space: just-a-name     # E1
            api_name: edit         # E2
            inputs: [ "$image", { a: 1 } ]   # E3
        """, ["t.yaml:{E1}: backends.space.space: expected owner/name (e.g. bizbots/qwen-image-editor), got 'just-a-name'",
              "t.yaml:{E2}: backends.space.api_name: expected a Gradio endpoint starting with / (e.g. /predict), got 'edit'",
              "t.yaml:{E3}: backends.space.inputs[1]: expected a $field, text, a number, true/false or null, got a mapping"]),
    RuleCase("keys of another kind", """
        backends:
          gpu:
            kind: openai
            url: http://10.0.0.5:8000
            endpoint_id: abc      # E1
            latency: 800ms        # E2
            token: x              # E3
        """, ["t.yaml:{E1}: backends.gpu: 'endpoint_id' is only valid for kind runpod (this backend is openai)",
              "t.yaml:{E2}: backends.gpu: 'latency' is only valid for kind simulated (this backend is openai)",
              "t.yaml:{E3}: backends.gpu: 'token' is only valid for kind hf_space (this backend is openai)"]),
    RuleCase("common keys a kind does not use", """
        backends:
          sim:
            kind: simulated
            url: http://127.0.0.1:1   # E1
          space:
            kind: hf_space
            space: owner/app
            api_key: x                # E2
        """, ["t.yaml:{E1}: backends.sim: a simulated backend runs in-process and has no 'url'",
              "t.yaml:{E2}: backends.space: hf_space takes its Hugging Face token as 'token', not 'api_key'"]),
    RuleCase("simulated: failure_rate range, latency garbage", """
        backends:
          a:
            kind: simulated
            failure_rate: 1.5     # E1
            latency: fast         # E2
          b:
            kind: simulated
            failure_rate: -0.1    # E3
            latency: 800ms ± x    # E4
        """, ["t.yaml:{E1}: backends.a.failure_rate: must be between 0 and 1, got 1.5",
              "t.yaml:{E2}: backends.a.latency: expected a latency like 800ms or 800ms ± 200ms (also +-), got 'fast'",
              "t.yaml:{E3}: backends.b.failure_rate: must not be negative, got -0.1",
              "t.yaml:{E4}: backends.b.latency: expected a latency like 800ms or 800ms ± 200ms (also +-), got '800ms ± x'"]),
    RuleCase("price without billing", """
        backends:
          gpu:
            kind: simulated
            price: { per_hour: 0.05 }   # E1
        """, ["t.yaml:{E1}: backends.gpu.price: a price needs billing (billing: always_on goes with per_hour)"]),
    RuleCase("billing without price", """
        backends:
          gpu:
            kind: simulated
            billing: per_second   # E1
        """, ["t.yaml:{E1}: backends.gpu.billing: per_second billing needs a price: { per_second: … }"]),
    RuleCase("billing and price that do not match", """
        backends:
          a:
            kind: simulated
            price: { per_hour: 0.05 }
            billing: per_second       # E1
          b:
            kind: simulated
            price: { per_second: 0.0002 }
            billing: per_request      # E2
          c:
            kind: simulated
            price: { per_request: 0.01 }
            billing: always_on        # E3
        """, ["t.yaml:{E1}: backends.a.billing: per_second billing needs a per_second price, but price has per_hour",
              "t.yaml:{E2}: backends.b.billing: per_request billing needs a per_request price, but price has per_second",
              "t.yaml:{E3}: backends.c.billing: always_on billing needs a per_hour price, but price has per_request"]),
    RuleCase("price shape problems", """
        backends:
          a:
            kind: simulated
            price: { per_hour: 0.05, per_second: 0.0001 }   # E1
            billing: always_on
          b:
            kind: simulated
            price: { per_hour: 0.05, round_up: 1s }          # E2
            billing: always_on
          c:
            kind: simulated
            price:
              per_hour: cheap                                 # E3
            billing: always_on
          d:
            kind: simulated
            price: { per_second: 0.0000001 }                  # E4
            billing: per_second
          e:
            kind: simulated
            price: {}                                         # E5
            billing: bogus                                    # E6
        """, ["t.yaml:{E1}: backends.a.price: give only one of per_hour, per_second or per_request",
              "t.yaml:{E2}: backends.b.price: round_up applies only to per_second prices",
              "t.yaml:{E3}: backends.c.price.per_hour: expected an amount in dollars like 0.40 or 25, got 'cheap'",
              "t.yaml:{E4}: backends.d.price.per_second: '0.0000001' has more than 6 decimal places (amounts are kept in micro-dollars)",
              "t.yaml:{E5}: backends.e.price: needs one of per_hour, per_second or per_request",
              "t.yaml:{E6}: backends.e.billing: expected always_on | per_second | per_request, got 'bogus'"]),
    RuleCase("numeric bounds of common keys", """
        backends:
          gpu:
            kind: simulated
            max_concurrency: 0      # E1
            timeout: 0s             # E2
            expected_run: soon      # E3
            bill_cold_start: no     # E4
            max_response: 0         # E5
            budget_usd_per_month: -5   # E6
        """, ["t.yaml:{E1}: backends.gpu.max_concurrency: must be between 1 and 100000, got 0",
              "t.yaml:{E2}: backends.gpu.timeout: must be more than 0",
              "t.yaml:{E3}: backends.gpu.expected_run: expected a duration like 500ms, 30s, 15m or 24h, got 'soon'",
              "t.yaml:{E4}: backends.gpu.bill_cold_start: expected true or false, got 'no'",
              "t.yaml:{E5}: backends.gpu.max_response: must be between 1B and 1TB, got 0",
              "t.yaml:{E6}: backends.gpu.budget_usd_per_month: must not be negative, got -5"]),
    RuleCase("health and circuit", """
        backends:
          gpu:
            kind: openai
            url: http://10.0.0.5:8000
            health: { path: health }                    # E1
            circuit: { cooldown: 10s, max_cooldown: 5s, failures: 0 }   # E2
          other:
            kind: openai
            url: http://10.0.0.6:8000
            health: { interval: 30s }                   # E3
        """, ["t.yaml:{E1}: backends.gpu.health.path: expected a path starting with / (e.g. /health), got 'health'",
              "t.yaml:{E2}: backends.gpu.circuit.max_cooldown: must be at least cooldown (10s)",
              "t.yaml:{E2}: backends.gpu.circuit.failures: must be between 1 and 1000, got 0",
              "t.yaml:{E3}: backends.other.health: missing required key 'path' (kind openai has no default probe)"]),
    RuleCase("idle: pause off hf_space, http without request, unknown action", """
        backends:
          a:
            kind: openai
            url: http://10.0.0.5:8000
            idle: { after: 15m, action: pause }       # E1
          b:
            kind: openai
            url: http://10.0.0.6:8000
            idle:                                     # E2
              after: 15m
              action: http
          c:
            kind: openai
            url: http://10.0.0.7:8000
            idle: { after: 15m, action: stop }        # E3
        """, ["t.yaml:{E1}: backends.a.idle.action: pause works only for kind hf_space (use action: http with a request)",
              "t.yaml:{E2}: backends.b.idle: missing required key 'request' (action: http sends it)",
              "t.yaml:{E3}: backends.c.idle.action: expected pause | http, got 'stop'"]),
    RuleCase("idle request problems", """
        backends:
          a:
            kind: runpod
            endpoint_id: abc
            api_key: ${RP}
            idle:
              after: 15m
              action: http
              request:
                method: FETCH                               # E1
                url: "https://admin:pw@api.runpod.ai/stop"  # E2
                headers: { "Bad Header": x }                # E3
        """, ["t.yaml:{E1}: backends.a.idle.request.method: expected GET | POST | PUT | PATCH | DELETE, got 'FETCH'",
              "t.yaml:{E2}: backends.a.idle.request.url: 'https://…@api.runpod.ai/stop' must not contain a user name or password (put credentials in api_key)",
              "t.yaml:{E3}: backends.a.idle.request.headers: 'Bad Header' is not a valid header name"], environment: ["RP": "rp-key"]),
    RuleCase("unset environment variable", """
        backends:
          gpu:
            kind: openai
            url: http://10.0.0.5:8000
            api_key: ${GPU_KEY}   # E1
        """, ["t.yaml:{E1}: backends.gpu.api_key: environment variable GPU_KEY is not set (write ${GPU_KEY:-default} to give a default)"]),
    RuleCase("replicate: both model and version, then neither", """
        backends:
          a:
            kind: replicate
            api_key: ${R}
            model: black-forest-labs/flux-schnell
            version: 5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637   # E1
          b:                  # E2
            kind: replicate
            api_key: ${R}
          c:
            kind: replicate
            api_key: ${R}
            model: flux       # E3
        """, ["t.yaml:{E1}: backends.a: give 'model' or 'version', not both",
              "t.yaml:{E2}: backends.b: replicate needs 'model' (owner/name) or 'version' (a version id)",
              "t.yaml:{E3}: backends.c.model: expected owner/name (e.g. black-forest-labs/flux-schnell), got 'flux'"], environment: ["R": "r8-key"]),
    RuleCase("modal: url required, tokens go together", """
        backends:
          a:                  # E1
            kind: modal
            token_id: ak-123
          b:                  # E2
            kind: modal
            url: https://ws--app-fn.modal.run
            token_id: ak-123
        """, ["t.yaml:{E1}: backends.a: missing required key 'url' (kind modal needs the endpoint's URL, e.g. https://workspace--app-fn.modal.run)",
              "t.yaml:{E2}: backends.b: token_id and token_secret go together; token_secret is missing or empty"]),
    RuleCase("duplicate keys are all reported at their own lines", """
        backends:
          gpu:                # E1
            kind: simulated
            timeout: 10s      # E2
            timeout: 20s      # E3
          gpu:                # E4
            kind: simulated
        """, ["t.yaml:{E3}: backends.gpu: duplicate key 'timeout' (first at line {E2})",
              "t.yaml:{E4}: backends: duplicate key 'gpu' (first at line {E1})"]),
    RuleCase("custom YAML tag", """
        backends:
          gpu:
            kind: !secret openai   # E1
            url: http://10.0.0.5:8000
        """, ["t.yaml:{E1}: backends.gpu.kind: YAML tag '!secret' is not supported"]),
]

@Suite struct BackendRuleTests {
    @Test(arguments: backendRuleCases)
    func rule(_ rule: RuleCase) {
        rule.verify()
    }
}
