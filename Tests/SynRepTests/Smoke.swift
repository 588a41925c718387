import Testing
@testable import SynRep
