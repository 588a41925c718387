import Testing
@testable import SynDiffusion
