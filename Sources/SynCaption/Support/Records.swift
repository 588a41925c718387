// The caption stage writes `captions.jsonl` in the shared schema of SynRecords (`CaptionRecord`,
// `CaptionMode`, `CaptionsFile`); re-exported so users of SynCaption see those types directly.
@_exported import SynRecords
