// SPDX-License-Identifier: Apache-2.0
// kind: modal — a Modal web endpoint (`https://<workspace>--<label>.modal.run`), spoken to like
// `http` plus the proxy-auth headers `Modal-Key`/`Modal-Secret` when configured, and the 303
// Modal sends when a call outlives 150 s followed with GET to the same origin only
// (backend-protocols.md §3; PassThroughRules.modal).

public struct ModalKind: BackendKind {
    public var options: OpenAIBackendOptions
    public var tokenID: String?
    public var tokenSecret: String?

    public init(options: OpenAIBackendOptions, tokenID: String?, tokenSecret: String?) {
        self.options = options
        self.tokenID = tokenID
        self.tokenSecret = tokenSecret
    }

    public func makeAdapter(on loop: BackendLoop) -> any BackendAdapter {
        OpenAIBackend(options: options, rules: .modal(tokenID: tokenID, tokenSecret: tokenSecret), multi: loop.multi)
    }
}
