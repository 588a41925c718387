/// The ten spatial relation words of the paper's concept+relation mode, verbatim.
public enum Relations {
    /// in, on, next to, behind, in front of, over, under, above, below, besides.
    public static let all = ["in", "on", "next to", "behind", "in front of", "over", "under", "above", "below", "besides"]
}
