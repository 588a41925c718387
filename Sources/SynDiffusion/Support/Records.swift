// The image stage reads `captions.jsonl` and writes `images/manifest.jsonl` in the shared schemas
// of SynRecords (`CaptionsFile`, `ManifestFile`); re-exported so users of SynDiffusion see them directly.
@_exported import SynRecords
