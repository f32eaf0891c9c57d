// SPDX-License-Identifier: Apache-2.0
// One image found in a backend's result: its bytes as base64, or a URL the adapter may fetch
// (only from the backend's own origins) or must refuse to pass on.

public enum ImageItem: Equatable, Sendable {
    /// Standard base64 (RFC 4648 §4) of the image bytes; padding as the backend sent it.
    case base64(String)
    /// An `http`/`https` URL, as the backend sent it.
    case url(String)
}
