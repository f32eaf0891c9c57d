// SPDX-License-Identifier: Apache-2.0
import Testing
import TollgateCore
@testable import TollgateBackends

struct GradioResultFilesTests {
    static let route = "http://127.0.0.1:7861/gradio_api/file="
    /// A file result as gradio 6.31 sends it.
    static let file: JSONValue = try! JSONValue.parse(#"{"path": "/tmp/gradio/ab/result.txt", "url": "http://127.0.0.1:7861/gradio_api/file=/tmp/gradio/ab/result.txt", "size": 3, "orig_name": "result.txt", "mime_type": null, "is_stream": false, "meta": {"_type": "gradio.FileData"}}"#)

    @Test func findsFileDataAnywhereInTheOutput() {
        let noURL: JSONValue = ["path": "/tmp/x.png", "meta": ["_type": "gradio.FileData"]]
        let output: JSONValue = ["gallery": [["image": Self.file, "caption": "c"], ["image": noURL]], "text": "t",
                                 "not": ["path": "/etc/passwd"]]
        let files = GradioResultFiles.files(in: output, fileRoute: Self.route)
        #expect(files.map(\.url) == ["http://127.0.0.1:7861/gradio_api/file=/tmp/gradio/ab/result.txt",
                                     Self.route + "/tmp/x.png"])
    }

    @Test func pathsWithSpacesOrNonASCIIStayFetchableOnTheAppsOrigin() {
        // Gradio 4 and 5 write `url` as `{root}/file={path}` without quoting it
        // (processing_utils.py _move_to_cache), so a file named "my image.png" comes back with a
        // raw space; Gradio 6 quotes it (client_utils.encode_file_path). Either way the gateway
        // fetches it, percent-encoded, from the app's own origin.
        let raw = Self.route + "/tmp/gradio/ab/my image €.png"
        let old: JSONValue = ["path": "/tmp/gradio/ab/my image €.png", "url": .string(raw), "meta": ["_type": "gradio.FileData"]]
        let noURL: JSONValue = ["path": "/tmp/gradio/ab/a?b#c d.png", "meta": ["_type": "gradio.FileData"]]
        let files = GradioResultFiles.files(in: [old, noURL], fileRoute: Self.route)
        #expect(files.map(\.url) == [Self.route + "/tmp/gradio/ab/my%20image%20%E2%82%AC.png",
                                     Self.route + "/tmp/gradio/ab/a%3Fb%23c%20d.png"])
        #expect(files.allSatisfy { OriginPolicy.isSameOrigin($0.url, "http://127.0.0.1:7861") })
        // Already quoted (Gradio 6): unchanged.
        #expect(GradioResultFiles.files(in: Self.file, fileRoute: Self.route).map(\.url)
            == ["http://127.0.0.1:7861/gradio_api/file=/tmp/gradio/ab/result.txt"])
        // Encoding never turns another origin into ours: a space or backslash before an `@`.
        for trick in ["http://evil.example @127.0.0.1:7861/x", "http://evil.example\\@127.0.0.1:7861/x"] {
            let v: JSONValue = ["path": "/x", "url": .string(trick), "meta": ["_type": "gradio.FileData"]]
            let url = GradioResultFiles.files(in: v, fileRoute: Self.route).first?.url ?? ""
            #expect(!OriginPolicy.isSameOrigin(url, "http://127.0.0.1:7861"), "\(url)")
        }
    }

    @Test func replacesEachURLInOrderAndDropsTheRest() {
        let output: JSONValue = [Self.file, ["x": Self.file], Self.file]
        let shaped = GradioResultFiles.replacingURLs(in: output, with: ["data:text/plain;base64,QUJD", nil], fileRoute: Self.route)
        #expect(shaped[0]?["url"] == "data:text/plain;base64,QUJD")
        #expect(shaped[0]?["orig_name"] == "result.txt")
        #expect(shaped[1]?["x"]?["url"]?.isNull == true)
        #expect(shaped[2]?["url"]?.isNull == true)
        #expect(!shaped.text.contains("http://"))
    }

    @Test func theOnePassReplyEqualsReplacingThenSerializing() throws {
        let output = try JSONValue.parse(#"""
            [{"path":"/a","url":"http://127.0.0.1:7861/gradio_api/file=/a","meta":{"_type":"gradio.FileData"},"url":"dup"},
             {"x":[{"path":"/b","meta":{"_type":"gradio.FileData"}}],"y":"\u00e9\n"},
             {"path":"/c","url":"http://elsewhere/c","meta":{"_type":"gradio.FileData"}},
             {"path":"","url":"","meta":{"_type":"gradio.FileData"}}, 1.50, null, true]
            """#)
        let bytes: [[UInt8]?] = [Array("ABC".utf8), Array(repeating: 7, count: 100_000), nil]
        let types: [String?] = ["text/plain; charset=utf-8", nil, "image/png"]
        let uris = zip(bytes, types).map { b, t in b.map { GradioResultFiles.dataURI($0, mimeType: t) } }
        let expected = GradioResultFiles.replacingURLs(in: output, with: uris, fileRoute: Self.route).serialized
        var files = bytes
        let written = GradioResultFiles.serializedReplacingURLs(in: output, files: &files, mimeTypes: types, fileRoute: Self.route)
        #expect(written == expected)
        #expect(files.allSatisfy { $0 == nil })
        #expect((try? JSONValue.parse(written)) != nil)
    }

    @Test func dataURIsAreBase64WithASafeType() {
        #expect(GradioResultFiles.dataURI(Array("ABC".utf8), mimeType: "text/plain") == "data:text/plain;base64,QUJD")
        #expect(GradioResultFiles.dataURI([], mimeType: "a,b") == "data:application/octet-stream;base64,")
        // Gradio serves a .txt result as "text/plain; charset=utf-8": RFC 2397 keeps the
        // parameter (`data:text/plain;charset=utf-8;base64,`), without the space.
        #expect(GradioResultFiles.dataURI(Array("ABC".utf8), mimeType: "text/plain; charset=utf-8")
            == "data:text/plain;charset=utf-8;base64,QUJD")
        #expect(GradioResultFiles.dataURI([], mimeType: "image/png\r\n") == "data:application/octet-stream;base64,")
        #expect(GradioResultFiles.dataURI([], mimeType: "text/plain; x=\"a b\"") == "data:text/plain;base64,")
    }

    @Test func uploadPartsNameTheFileSafely() {
        #expect(GradioUploadBody.safeFilename("../../etc/pass\"wd\r\n") == "pass" + "wd")
        #expect(GradioUploadBody.safeFilename(nil) == "upload")
        #expect(GradioUploadBody.safeFilename("C:\\x\\.hidden") == "hidden")
        let head = String(decoding: GradioUploadBody.partHead(boundary: "b1", filename: "a.png", contentType: "image/png\r\nX: y"), as: UTF8.self)
        #expect(head == "--b1\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    }
}
