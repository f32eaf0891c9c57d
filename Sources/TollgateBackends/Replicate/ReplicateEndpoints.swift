// SPDX-License-Identifier: Apache-2.0
// The URLs, headers and body prefix of Replicate's HTTP API for one backend (research/
// backend-protocols.md §4, from replicate-python-beta `resources/predictions.py`,
// `resources/models/predictions.py` and replicate-python `prediction.py`). Pure.
import TollgateCore

struct ReplicateEndpoints {
    /// The base without trailing slashes, e.g. `https://api.replicate.com/v1`.
    let base: String
    /// Where a prediction is created.
    let createURL: String
    /// What goes before `"input":` in the create's body: `"version":"<id>",` for a version.
    let bodyPrefix: String
    /// Where the adapter may send its own requests: the API's origin (polls, cancels).
    let api: OriginPolicy
    /// Where output files may be fetched from, with the token: Replicate's delivery host
    /// `replicate.delivery` and its subdomains (HTTPS only), plus the API's own origin (its
    /// `/v1/files` URLs; and a test's fake, whose `url` stands in for both).
    let files: OriginPolicy

    /// The fixed delivery domain of output files (research/backend-protocols.md §4).
    static let deliveryDomain = "replicate.delivery"

    init(baseURL: String, target: ReplicateBackendOptions.Target) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        api = OriginPolicy(urls: [base])
        files = OriginPolicy(urls: [base], httpsDomains: [Self.deliveryDomain])
        switch target {
        case .model(let owner, let name):
            createURL = base + "/models/" + owner + "/" + name + "/predictions"
            bodyPrefix = ""
        case .version(let version):
            createURL = base + "/predictions"
            bodyPrefix = "\"version\":" + JSONValue.string(version).text + ","
        }
    }

    /// The `Prefer` header's value: `wait=N`, N whole seconds in 1…60 (the API's range), at most
    /// `maxWait`, and a second short of the time left so the reply comes back (not final) while
    /// there is still time to poll or cancel.
    static func preferWait(remainingMs: Int, maxWait: Int) -> String {
        let seconds = min(max(remainingMs / 1_000 - 1, 1), min(max(maxWait, 1), 60))
        return "wait=\(seconds)"
    }

    /// Where `prediction` is polled: its `urls.get` when that is on the API's origin, else
    /// `GET <base>/predictions/{id}` when it gave none; nil when it named another origin (the
    /// gateway sends its token nowhere else).
    func getURL(for prediction: ReplicatePrediction) -> String? {
        guard let url = prediction.getURL else { return base + "/predictions/" + prediction.id }
        return api.allows(url) ? url : nil
    }

    /// Where `prediction` is cancelled: `urls.cancel` on the API's origin, else
    /// `POST <base>/predictions/{id}/cancel` (the documented path, so a job is never left
    /// running for want of a URL).
    func cancelURL(for prediction: ReplicatePrediction) -> String {
        if let url = prediction.cancelURL, api.allows(url) { return url }
        return base + "/predictions/" + prediction.id + "/cancel"
    }
}
