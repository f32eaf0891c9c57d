// SPDX-License-Identifier: Apache-2.0
// Validation rules of server, storage, admin, metrics, defaults, groups, models, users and
// budgets: each case yields exactly its errors, at the offending line.
import Testing
import TollgateConfig

let sectionRuleCases: [RuleCase] = [
    RuleCase("unknown top-level key with hint", """
        servr:   # E1
          listen: 127.0.0.1:8080
        """, ["t.yaml:{E1}: unknown key 'servr' (did you mean 'server'?)"]),
    RuleCase("unknown nested key with hint", """
        server:
          listen: 127.0.0.1:8080
          max_conections: 10   # E1
        """, ["t.yaml:{E1}: server: unknown key 'max_conections' (did you mean 'max_connections'?)"]),
    RuleCase("unknown key without a close match", """
        server:
          colour: blue   # E1
        """, ["t.yaml:{E1}: server: unknown key 'colour'"]),
    RuleCase("listen without port", """
        server:
          listen: localhost   # E1
        """, ["t.yaml:{E1}: server.listen: expected host:port (e.g. 127.0.0.1:8080 or [::1]:8080), got 'localhost'"]),
    RuleCase("listen on a host name", """
        server:
          listen: example.com:80   # E1
        """, ["t.yaml:{E1}: server.listen: 'example.com' is not an IP address or localhost (host names are not resolved)"]),
    RuleCase("listen port out of range", """
        server:
          listen: 127.0.0.1:70000   # E1
        """, ["t.yaml:{E1}: server.listen: '70000' is not a port (0-65535)"]),
    RuleCase("unbracketed IPv6 listen", """
        server:
          listen: "::1:8080"   # E1
        """, ["t.yaml:{E1}: server.listen: expected host:port (e.g. 127.0.0.1:8080 or [::1]:8080), got '::1:8080'"]),
    RuleCase("workers zero and garbage", """
        server:
          workers: 0   # E1
        storage:
          retention_days: -1   # E2
        """, ["t.yaml:{E1}: server.workers: must be between 1 and 1024, got 0",
              "t.yaml:{E2}: storage.retention_days: must not be negative, got -1"]),
    RuleCase("workers not a number", """
        server:
          workers: many   # E1
        """, ["t.yaml:{E1}: server.workers: expected auto or a number from 1 to 1024, got 'many'"]),
    RuleCase("durations: unitless, negative, zero", """
        server:
          header_timeout: 10   # E1
          body_timeout: -5s    # E2
          idle_timeout: 0s     # E3
          drain_timeout: 2 h   # E4
        """, ["t.yaml:{E1}: server.header_timeout: expected a duration like 500ms, 30s, 15m or 24h, got '10'",
              "t.yaml:{E2}: server.body_timeout: must not be negative, got '-5s'",
              "t.yaml:{E3}: server.idle_timeout: must be more than 0",
              "t.yaml:{E4}: server.drain_timeout: expected a duration like 500ms, 30s, 15m or 24h, got '2 h'"]),
    RuleCase("sizes: bad unit, overflow, out of range", """
        server:
          max_header: 10XB                    # E1
          max_body: 99999999999999999999      # E2
          max_connections: 0                  # E3
        """, ["t.yaml:{E1}: server.max_header: expected a size like 64KB, 100MB or 1GB, got '10XB'",
              "t.yaml:{E2}: server.max_body: '99999999999999999999' is too large",
              "t.yaml:{E3}: server.max_connections: must be between 1 and 1000000, got 0"]),
    RuleCase("max_header bounds", """
        server:
          max_header: 512   # E1
        """, ["t.yaml:{E1}: server.max_header: must be between 1KB and 1MB, got 512"]),
    RuleCase("trusted proxy that is not an IP or CIDR", """
        server:
          trusted_proxies:
            - 10.0.0.0/8
            - 10.0.0.0/33   # E1
            - gateway.lan   # E2
        """, ["t.yaml:{E1}: server.trusted_proxies[1]: '10.0.0.0/33' is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)",
              "t.yaml:{E2}: server.trusted_proxies[2]: 'gateway.lan' is not an IP address or CIDR block (e.g. 10.0.0.0/8, ::1)"]),
    RuleCase("booleans are only true and false", """
        metrics:
          protected: yes    # E1
          user_label: 1     # E2
        """, ["t.yaml:{E1}: metrics.protected: expected true or false, got 'yes'",
              "t.yaml:{E2}: metrics.user_label: expected true or false, got '1'"]),
    RuleCase("protected metrics need an admin key", """
        metrics:
          protected: true   # E1
        """, ["t.yaml:{E1}: metrics.protected: true needs admin.key: it is the key that reads a protected /metrics"]),
    RuleCase("unknown time zone", """
        defaults:
          timezone: Mars/Olympus_Mons   # E1
        """, ["t.yaml:{E1}: defaults.timezone: unknown time zone 'Mars/Olympus_Mons' (UTC, or an IANA name like Europe/Berlin from /usr/share/zoneinfo)"]),
    RuleCase("time zone path traversal", """
        defaults:
          timezone: ../../etc/passwd   # E1
        """, ["t.yaml:{E1}: defaults.timezone: unknown time zone '../../etc/passwd' (UTC, or an IANA name like Europe/Berlin from /usr/share/zoneinfo)"]),
    RuleCase("negative and non-numeric limits", """
        defaults:
          limits:
            requests_per_minute: -1       # E1
            concurrent: lots              # E2
            gpu_seconds_per_day: -3       # E3
            usd_per_month: 1.0000001      # E4
        """, ["t.yaml:{E1}: defaults.limits.requests_per_minute: must not be negative, got -1",
              "t.yaml:{E2}: defaults.limits.concurrent: expected a whole number, got 'lots'",
              "t.yaml:{E3}: defaults.limits.gpu_seconds_per_day: must not be negative, got -3",
              "t.yaml:{E4}: defaults.limits.usd_per_month: '1.0000001' has more than 6 decimal places (amounts are kept in micro-dollars)"]),
    RuleCase("group limits typo", """
        groups:
          free:
            limits: { gpu_seconds_per_dya: 300 }   # E1
        """, ["t.yaml:{E1}: groups.free.limits: unknown key 'gpu_seconds_per_dya' (did you mean 'gpu_seconds_per_day'?)"]),
    RuleCase("budget must be positive", """
        budgets:
          usd_per_month: 0   # E1
        """, ["t.yaml:{E1}: budgets.usd_per_month: must be more than 0"]),
    RuleCase("wrong shapes", """
        server: 5                 # E1
        backends: [a, b]          # E2
        users:
          alice:
            keys: tg-abc          # E3
        """, ["t.yaml:{E1}: server: expected a mapping, got '5'",
              "t.yaml:{E2}: backends: expected a mapping of backend name → settings, got a list",
              "t.yaml:{E3}: users.alice.keys: expected a list of keys (e.g. [\"${ALICE_KEY}\"]), got a single value"]),
    RuleCase("secrets in the wrong shape are not quoted back", """
        admin: tg-admin-literal-key   # E1
        """, ["t.yaml:{E1}: admin: expected a mapping, got a single value"]),
    RuleCase("a key written in place of a user's settings is not quoted back", """
        users:
          alice: tg-user-literal-key   # E1
        """, ["t.yaml:{E1}: users.alice: expected a mapping of user settings, got a single value"]),
    RuleCase("root is not a mapping", """
        - server   # E1
        """, ["t.yaml:{E1}: the config must be a mapping with keys like server, backends, models and users, got a list"]),
    RuleCase("model naming an unknown backend", """
        backends:
          gpu-1: { kind: simulated }
        models:
          chat: { task: chat, backends: [gpu-1, gpu-2] }   # E1
        """, ["t.yaml:{E1}: models.chat.backends[1]: unknown backend 'gpu-2' (did you mean 'gpu-1'?)"]),
    RuleCase("model with zero backends and a repeated one", """
        backends:
          sim: { kind: simulated }
        models:
          a:
            task: chat
            backends: []   # E1
          b:
            task: chat
            backends:
              - sim        # E2
              - sim        # E3
        """, ["t.yaml:{E1}: models.a: backends must name at least one backend",
              "t.yaml:{E3}: models.b.backends[1]: backend 'sim' is listed twice (first at line {E2})"]),
    RuleCase("model without task, then a task typo", """
        backends:
          sim: { kind: simulated }
        models:
          a:                # E1
            backends: [sim]
          b:
            task: chatt     # E2
            backends: [sim]
            attempts: 0     # E3
        """, ["t.yaml:{E1}: models.a: missing required key 'task' (chat | completion | embedding | image | image_edit | transcription | diarization | raw)",
              "t.yaml:{E2}: models.b.task: expected chat | completion | embedding | image | image_edit | transcription | diarization | raw, got 'chatt' (did you mean 'chat'?)",
              "t.yaml:{E3}: models.b.attempts: must be between 1 and 100, got 0"]),
    RuleCase("model without backends key", """
        models:
          a:                # E1
            task: chat
        """, ["t.yaml:{E1}: models.a: missing required key 'backends' (the backends that serve it)"]),
    RuleCase("user in an unknown group", """
        groups:
          free: { limits: { usd_per_month: 1 } }
        users:
          bob:
            keys: ["${BOB_KEY}"]
            group: fre   # E1
        """, ["t.yaml:{E1}: users.bob.group: unknown group 'fre' (did you mean 'free'?)"], environment: ["BOB_KEY": "tg-bob-0123456789"]),
    RuleCase("user group when no groups exist", """
        users:
          bob:
            keys: ["${BOB_KEY}"]
            group: free   # E1
        """, ["t.yaml:{E1}: users.bob.group: unknown group 'free' (no groups are defined)"], environment: ["BOB_KEY": "tg-bob-0123456789"]),
    RuleCase("same client key on two users", """
        users:
          alice:
            keys: ["${SHARED}"]    # E1
          bob:
            keys:
              - "${OTHER}"
              - "${SHARED}"        # E2
        """, ["t.yaml:{E2}: users.bob.keys[1]: user 'alice' already uses the same key (line {E1}); every key must identify exactly one user"],
             environment: ["SHARED": "tg-shared-key-0000000000", "OTHER": "tg-other-key-00000000000"]),
    RuleCase("same key as plaintext and as its hash", """
        users:
          alice:
            keys: ["${ALICE}"]   # E1
          bob:
            keys: ["sha256:52e7c5fe496c622913d84e56be2f8fec6c2616ace2341a23c2c22951cdfe6346"]   # E2
        """, ["t.yaml:{E2}: users.bob.keys[0]: user 'alice' already uses the same key (line {E1}); every key must identify exactly one user"],
             environment: ["ALICE": "tg-alice"]),
    RuleCase("the same key twice on one user", """
        users:
          alice:
            keys:
              - "${A}"   # E1
              - "${B}"   # E2
        """, ["t.yaml:{E2}: users.alice.keys[1]: this user already lists the same key (line {E1}); every key must identify exactly one user"],
             environment: ["A": "tg-same-0000000000", "B": "tg-same-0000000000"]),
    RuleCase("bad sha256 key, empty key, key with a space", """
        users:
          alice:
            keys:
              - "sha256:abc123"     # E1
              - ""                  # E2
              - "tg two words"      # E3
        """, ["t.yaml:{E1}: users.alice.keys[0]: expected sha256: followed by 64 hex digits (tollgate keygen prints one)",
              "t.yaml:{E2}: users.alice.keys[1]: the key is empty",
              "t.yaml:{E3}: users.alice.keys[2]: a key must be printable ASCII without spaces"]),
    RuleCase("user without keys, user with an unknown model", """
        backends:
          sim: { kind: simulated }
        models:
          chat: { task: chat, backends: [sim] }
        users:
          alice:            # E1
            models: ["*"]
          bob:
            keys: ["${BOB}"]
            models: [chatt] # E2
        """, ["t.yaml:{E1}: users.alice: missing required key 'keys' (the user's API keys)",
              "t.yaml:{E2}: users.bob.models[0]: unknown model 'chatt' (did you mean 'chat'?)"], environment: ["BOB": "tg-bob-0000000000"]),
    RuleCase("admin key equal to a client key", """
        admin:
          key: ${K}   # E1
        users:
          alice:
            keys: ["${K}"]
        """, ["t.yaml:{E1}: admin.key: must differ from every client key (user 'alice' has the same key)"], environment: ["K": "tg-k-00000000000000"]),
    RuleCase("invalid names", """
        backends:
          "my gpu": { kind: simulated }   # E1
        users:
          -bob:                           # E2
            keys: ["${B}"]
        """, ["t.yaml:{E1}: backends: 'my gpu' is not a valid backend name (letters, digits and . _ -; at most 64 characters, starting with a letter or digit)",
              "t.yaml:{E2}: users: '-bob' is not a valid user name (letters, digits and . _ -; at most 64 characters, starting with a letter or digit)"], environment: ["B": "tg-b-000000000000"]),
]

@Suite struct SectionRuleTests {
    @Test(arguments: sectionRuleCases)
    func rule(_ rule: RuleCase) {
        rule.verify()
    }
}
