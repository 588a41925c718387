/// Errors reading training or evaluation data.
public enum DatasetError: Error, CustomStringConvertible {
    /// A required file or folder is missing.
    case missing(path: String, hint: String)
    /// Images of different sizes where one size is needed.
    case inconsistentImages(path: String, reason: String)
    /// Nothing usable was found.
    case empty(path: String)
    /// A dataset entry (e.g. a symbolic link) resolves to a file outside the dataset's folder.
    case outsideFolder(path: String, folder: String)

    /// Message naming the file and the problem.
    public var description: String {
        switch self {
        case let .missing(path, hint): return "\(path): not found. \(hint)"
        case let .inconsistentImages(path, reason): return "\(path): \(reason)"
        case let .empty(path): return "\(path): no images found"
        case let .outsideFolder(path, folder): return "\(path): resolves to a file outside the dataset folder \(folder); copy it into the folder instead of linking"
        }
    }
}
