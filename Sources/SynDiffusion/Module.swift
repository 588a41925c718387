import SynTensor

/// Version string of the SynDiffusion module (shared by the package).
