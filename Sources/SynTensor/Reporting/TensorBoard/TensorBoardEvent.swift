import Foundation

/// One value of a TensorBoard summary: a scalar, an image or a text, under a tag.
public struct TensorBoardValue: Equatable, Sendable {
    /// What the value holds.
    public enum Content: Equatable, Sendable {
        /// A scalar (`Summary.Value.simple_value`), drawn by the Scalars dashboard.
        case scalar(Float)
        /// An encoded image (`Summary.Image`), drawn by the Images dashboard.
        case image(width: Int, height: Int, channels: Int, png: [UInt8])
        /// A text (a string tensor for the `text` plugin); Markdown is rendered.
        case text(String)
    }

    /// Tag, e.g. "loss/total"; a slash groups tags into sections.
    public var tag: String
    /// The value.
    public var content: Content

    /// A value under `tag`.
    public init(tag: String, content: Content) {
        self.tag = tag
        self.content = content
    }
}

/// One record of a TensorBoard event file (`tensorflow.Event`).
public struct TensorBoardEvent: Equatable, Sendable {
    /// What the event carries.
    public enum Kind: Equatable, Sendable {
        /// The file's first event, e.g. "brain.Event:2".
        case fileVersion(String)
        /// A summary of one or more values.
        case summary([TensorBoardValue])
        /// Any other event kind (graphs, session logs): the whole event's raw bytes, kept as they are.
        case other([UInt8])
    }

    /// Seconds since 1970.
    public var wallTime: Double
    /// Global step.
    public var step: Int
    /// Payload.
    public var kind: Kind

    /// An event.
    public init(wallTime: Double, step: Int, kind: Kind) {
        self.wallTime = wallTime
        self.step = step
        self.kind = kind
    }

    // Field numbers from tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto.
    private enum F {
        static let wallTime = 1, step = 2, fileVersion = 3, summary = 5
        static let summaryValue = 1
        static let tag = 1, simpleValue = 2, image = 4, tensor = 8, metadata = 9
        static let imageHeight = 1, imageWidth = 2, imageColorspace = 3, imageEncoded = 4
        static let tensorDtype = 1, tensorShape = 2, tensorStringVal = 8, shapeDim = 2, dimSize = 1
        static let pluginData = 1, pluginName = 1
        static let dtString: Int64 = 7
    }

    /// The serialized `Event` message.
    public func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.double(F.wallTime, wallTime)
        w.int(F.step, Int64(step))
        switch kind {
        case .fileVersion(let v): w.string(F.fileVersion, v, always: true)
        case .other(let raw): return raw
        case .summary(let values):
            w.message(F.summary) { s in
                for v in values {
                    s.message(F.summaryValue) { m in
                        m.string(F.tag, v.tag)
                        switch v.content {
                        case .scalar(let x):
                            m.float(F.simpleValue, x, always: true)
                        case let .image(width, height, channels, png):
                            m.message(F.image) { i in
                                i.int(F.imageHeight, Int64(height))
                                i.int(F.imageWidth, Int64(width))
                                i.int(F.imageColorspace, Int64(channels))
                                i.bytes(F.imageEncoded, png)
                            }
                        case .text(let text):
                            m.message(F.tensor) { t in
                                t.int(F.tensorDtype, F.dtString)
                                t.message(F.tensorShape) { shape in shape.message(F.shapeDim) { d in d.int(F.dimSize, 1) } }
                                t.bytes(F.tensorStringVal, Array(text.utf8), always: true)
                            }
                            m.message(F.metadata) { md in md.message(F.pluginData) { p in p.string(F.pluginName, "text") } }
                        }
                    }
                }
            }
        }
        return w.bytes
    }

    /// Decodes a serialized `Event`; summary values of kinds other than scalars, images and texts
    /// are dropped.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> TensorBoardEvent {
        var event = TensorBoardEvent(wallTime: 0, step: 0, kind: .other(Array(bytes)))
        for f in try protobufFields(bytes) {
            switch f.number {
            case F.wallTime: event.wallTime = f.double ?? 0
            case F.step: event.step = Int(truncatingIfNeeded: Int64(bitPattern: f.varint ?? 0))
            case F.fileVersion: event.kind = .fileVersion(f.string ?? "")
            case F.summary:
                var values: [TensorBoardValue] = []
                for vf in try protobufFields(f.bytes ?? []) where vf.number == F.summaryValue {
                    if let v = try decodeValue(vf.bytes ?? []) { values.append(v) }
                }
                event.kind = .summary(values)
            default: break
            }
        }
        return event
    }

    private static func decodeValue(_ bytes: ArraySlice<UInt8>) throws -> TensorBoardValue? {
        var tag = ""
        var content: TensorBoardValue.Content?
        for f in try protobufFields(bytes) {
            switch f.number {
            case F.tag: tag = f.string ?? ""
            case F.simpleValue: content = .scalar(f.float ?? 0)
            case F.image:
                var w = 0, h = 0, c = 0
                var png: [UInt8] = []
                for i in try protobufFields(f.bytes ?? []) {
                    switch i.number {
                    case F.imageHeight: h = Int(truncatingIfNeeded: i.varint ?? 0)
                    case F.imageWidth: w = Int(truncatingIfNeeded: i.varint ?? 0)
                    case F.imageColorspace: c = Int(truncatingIfNeeded: i.varint ?? 0)
                    case F.imageEncoded: png = Array(i.bytes ?? [])
                    default: break
                    }
                }
                content = .image(width: w, height: h, channels: c, png: png)
            case F.tensor:
                let strings = try protobufFields(f.bytes ?? []).filter { $0.number == F.tensorStringVal }.compactMap(\.string)
                content = .text(strings.joined(separator: "\n"))
            default: break
            }
        }
        return content.map { TensorBoardValue(tag: tag, content: $0) }
    }
}
