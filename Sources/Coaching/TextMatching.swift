/// Case-insensitive, whole-word phrase matching for the rule coach.
///
/// Transcript text is untrusted and arrives on every tip, so matching works on bytes: a segment is
/// *folded* once into a shared byte buffer (ASCII lowercased, typographic quotes and dashes made plain,
/// whitespace and hyphens collapsed to one space), and one ``PhraseMatcher`` pass finds every playbook
/// phrase in it. Phrases match on word boundaries only: "price" matches "the price is" but not
/// "priceless" or "prices" (a playbook lists plural or inflected forms it wants), and "next year" does not
/// match "next year's". A word is a run of ASCII letters, digits, apostrophes and non-ASCII bytes, so
/// "don't" and "café" are single words.
enum TextFolding {
    /// The most bytes of one text that are folded. Protocol texts are at most 2,000 code points
    /// (8,000 UTF-8 bytes); anything longer is cut so one hostile input cannot make a tip slow.
    static let maximumInputBytes = 8192

    /// Whether `byte` belongs to a word: ASCII letters and digits, the apostrophe, and every byte of a
    /// non-ASCII scalar (so accented words stay whole).
    @inline(__always)
    static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "'"): true
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        case 0x80...: true
        default: false
        }
    }

    /// Whether `byte` is an ASCII letter or digit (not an apostrophe): a word with none of them is noise.
    @inline(__always)
    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: false
        }
    }

    /// Appends the folded form of `text` to `storage` and returns where it went. `offsets` receives, for
    /// each folded byte, the offset in `text.utf8` of the byte or scalar it came from, so a match can be
    /// shown in the speaker's own spelling.
    ///
    /// At most ``maximumInputBytes`` bytes of `text` are read, cut before a UTF-8 continuation byte.
    /// The result never starts or ends with a space and never holds two spaces in a row.
    static func fold(_ text: String, into storage: inout [UInt8], offsets: inout [Int32]) -> Range<Int> {
        let start = storage.count
        let folded: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            Self.fold(bytes, into: &storage, offsets: &offsets)
        }
        if folded == nil {
            // Only bridged or lazily built strings get here; they are copied once.
            let bytes = Array(text.utf8.prefix(Self.maximumInputBytes + 4))
            bytes.withUnsafeBufferPointer { Self.fold($0, into: &storage, offsets: &offsets) }
        }
        return start..<storage.count
    }

    /// Folds a phrase from the playbook into a new array (see ``fold(_:into:offsets:)``).
    static func fold(_ text: String) -> [UInt8] {
        var storage: [UInt8] = []
        var offsets: [Int32] = []
        storage.reserveCapacity(text.utf8.count)
        offsets.reserveCapacity(text.utf8.count)
        _ = Self.fold(text, into: &storage, offsets: &offsets)
        return storage
    }

    private static func fold(_ input: UnsafeBufferPointer<UInt8>, into storage: inout [UInt8], offsets: inout [Int32]) {
        var end = min(input.count, Self.maximumInputBytes)
        // Never cut a scalar in half: back up over continuation bytes (0b10xxxxxx).
        while end < input.count, end > 0, input[end] & 0xC0 == 0x80 { end -= 1 }
        let start = storage.count
        var pendingSpace = false
        var pendingSpaceOffset = 0
        var index = 0
        while index < end {
            let byte = input[index]
            var folded: UInt8? = nil
            var isSpace = false
            var width = 1
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                folded = byte | 0x20
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C,
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                // Hyphens fold to spaces so "two-way" and "two way", "follow-up" and "follow up" match alike.
                isSpace = true
            case 0x00..<0x20, 0x7F:
                // Other control characters carry no words.
                isSpace = true
            case 0xC2 where index + 1 < end && input[index + 1] == 0xA0:
                // U+00A0 no-break space.
                isSpace = true
                width = 2
            case 0xE2 where index + 2 < end && input[index + 1] == 0x80:
                switch input[index + 2] {
                case 0x98, 0x99:  // ‘ ’ : the apostrophe speech-to-text engines like to emit.
                    folded = UInt8(ascii: "'")
                    width = 3
                case 0x9C, 0x9D:  // “ ”
                    folded = UInt8(ascii: "\"")
                    width = 3
                case 0x90, 0x91, 0x92, 0x93, 0x94, 0xAF, 0x80...0x8A:  // dashes and Unicode spaces
                    isSpace = true
                    width = 3
                default:
                    folded = byte
                }
            default:
                folded = byte
            }
            if isSpace {
                // Remember where the run of spaces began: a range that ends at the folded space then ends
                // on a scalar boundary of the original.
                if !pendingSpace && storage.count > start {
                    pendingSpace = true
                    pendingSpaceOffset = index
                }
            } else if let folded {
                if pendingSpace {
                    storage.append(UInt8(ascii: " "))
                    offsets.append(Int32(pendingSpaceOffset))
                    pendingSpace = false
                }
                // A multi-byte scalar folded to one ASCII byte (a curly quote) is stored as that byte.
                storage.append(folded)
                offsets.append(Int32(index))
            }
            index += width
        }
    }
}

/// A set of folded phrases compiled for one-pass, whole-word matching.
///
/// Phrases are indexed by a hash of their first word. Matching walks the text's word starts, looks
/// each word up once, and compares the few candidate phrases byte for byte, so a pass costs about one
/// hash per word whatever the number of phrases. It allocates nothing.
struct PhraseMatcher: Sendable {
    /// One phrase and the caller's tag for it.
    struct Pattern: Sendable {
        var bytes: [UInt8]
        var tag: UInt32
        /// Whether the phrase ends in a word byte, so the match needs a word boundary after it.
        var needsEndBoundary: Bool
    }

    private(set) var patterns: [Pattern] = []
    /// First-word hash to pattern indices, longest phrase first.
    private var byFirstWord: [UInt64: [Int32]] = [:]

    init() {}

    /// Compiles `phrases` (already folded, each starting with a word byte; others are skipped).
    init(_ phrases: [(bytes: [UInt8], tag: UInt32)]) {
        for (bytes, tag) in phrases {
            guard let first = bytes.first, TextFolding.isWordByte(first) else { continue }
            var wordEnd = 0
            while wordEnd < bytes.count, TextFolding.isWordByte(bytes[wordEnd]) { wordEnd += 1 }
            let hash = bytes.withUnsafeBufferPointer { Self.hash($0, 0, wordEnd) }
            self.byFirstWord[hash, default: []].append(Int32(self.patterns.count))
            self.patterns.append(
                Pattern(bytes: bytes, tag: tag, needsEndBoundary: TextFolding.isWordByte(bytes[bytes.count - 1]))
            )
        }
        for key in self.byFirstWord.keys {
            self.byFirstWord[key]!.sort { self.patterns[Int($0)].bytes.count > self.patterns[Int($1)].bytes.count }
        }
    }

    /// FNV-1a over `text[start..<end]`.
    @inline(__always)
    static func hash(_ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var index = start
        while index < end {
            hash = (hash ^ UInt64(text[index])) &* 0x0000_0100_0000_01B3
            index += 1
        }
        return hash
    }

    /// Calls `body` with the tag and byte range of every phrase occurrence in `text`, in order of start.
    /// - Parameter text: folded text (see ``TextFolding``).
    func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (_ tag: UInt32, _ range: Range<Int>) -> Void) {
        guard !self.patterns.isEmpty else { return }
        let count = text.count
        var index = 0
        while index < count {
            guard TextFolding.isWordByte(text[index]) else {
                index += 1
                continue
            }
            var wordEnd = index + 1
            while wordEnd < count, TextFolding.isWordByte(text[wordEnd]) { wordEnd += 1 }
            if let candidates = self.byFirstWord[Self.hash(text, index, wordEnd)] {
                for candidate in candidates {
                    let pattern = self.patterns[Int(candidate)]
                    if self.matches(pattern, in: text, at: index) {
                        body(pattern.tag, index..<(index + pattern.bytes.count))
                    }
                }
            }
            index = wordEnd
        }
    }

    @inline(__always)
    private func matches(_ pattern: Pattern, in text: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        let length = pattern.bytes.count
        guard start + length <= text.count else { return false }
        let equal = pattern.bytes.withUnsafeBufferPointer { phrase in
            var offset = 0
            while offset < length {
                if phrase[offset] != text[start + offset] { return false }
                offset += 1
            }
            return true
        }
        guard equal else { return false }
        if pattern.needsEndBoundary, start + length < text.count, TextFolding.isWordByte(text[start + length]) {
            return false
        }
        return true
    }
}

/// Whole-word search helpers over folded bytes, for the few phrases known only at run time
/// (competitor names from the call's metadata) and for word-level checks.
enum WordSearch {
    /// Whether folded `phrase` occurs in folded `text` on word boundaries.
    static func contains(_ phrase: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = phrase.first, phrase.count <= text.count else { return false }
        let last = text.count - phrase.count
        var start = 0
        return phrase.withUnsafeBufferPointer { phrase in
            while start <= last {
                if text[start] == first, start == 0 || !TextFolding.isWordByte(text[start - 1]) {
                    var offset = 1
                    while offset < phrase.count, phrase[offset] == text[start + offset] { offset += 1 }
                    if offset == phrase.count {
                        let end = start + phrase.count
                        let endsWord = !TextFolding.isWordByte(phrase[phrase.count - 1])
                        if end == text.count || endsWord || !TextFolding.isWordByte(text[end]) { return true }
                    }
                }
                start += 1
            }
            return false
        }
    }

    /// The number of words in `text` (runs of word bytes holding at least one letter or digit).
    static func wordCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var index = 0
        while index < text.count {
            guard TextFolding.isWordByte(text[index]) else {
                index += 1
                continue
            }
            var hasAlphanumeric = false
            while index < text.count, TextFolding.isWordByte(text[index]) {
                if TextFolding.isAlphanumeric(text[index]) || text[index] >= 0x80 { hasAlphanumeric = true }
                index += 1
            }
            if hasAlphanumeric { count += 1 }
        }
        return count
    }
}
