// SPDX-License-Identifier: Apache-2.0
// A request field as GradioDataArray puts it in the data array.
import TollgateCore

/// A request field's value, as the data array takes it.
enum GradioFieldValue: Equatable, Sendable {
    /// A JSON body's member, as sent.
    case json(JSONValue)
    /// A multipart text field.
    case text(String)
    /// A multipart file, uploaded to the Space: the server path `/upload` returned.
    case file(path: String, name: String?, mimeType: String?)
}
