import Testing
@testable import SynCaption
