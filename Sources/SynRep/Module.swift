import SynTensor

/// Version string of the SynRep module (shared by the package).
