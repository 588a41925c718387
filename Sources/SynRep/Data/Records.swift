// Training reads `images/manifest.jsonl` through the shared schema of SynRecords (`ManifestFile`);
// re-exported so users of SynRep see the record types directly.
@_exported import SynRecords
