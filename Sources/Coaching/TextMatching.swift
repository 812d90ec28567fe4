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
    /// The result never starts or ends with a space and never holds two spaces in a row, and is never
    /// longer than the input (so a caller can size a buffer from the input alone).
    static func fold(_ text: String, into storage: inout [UInt8], offsets: inout [Int32]) -> Range<Int> {
        let start = storage.count
        let capacity = min(text.utf8.count, Self.maximumInputBytes)
        storage.append(contentsOf: repeatElement(0, count: capacity))
        offsets.append(contentsOf: repeatElement(0, count: capacity))
        let written = storage.withUnsafeMutableBufferPointer { output in
            offsets.withUnsafeMutableBufferPointer { origins in
                Self.fold(text, to: output.baseAddress! + start, origins: origins.baseAddress! + start)
            }
        }
        storage.removeLast(capacity - written)
        offsets.removeLast(capacity - written)
        return start..<(start + written)
    }

    /// Folds `text` to `output`, which must have room for `min(text.utf8.count, maximumInputBytes)` bytes
    /// (as must `origins`), and returns the number of bytes written.
    static func fold(
        _ text: String,
        to output: UnsafeMutablePointer<UInt8>,
        origins: UnsafeMutablePointer<Int32>
    ) -> Int {
        if let written = text.utf8.withContiguousStorageIfAvailable({ Self.foldBytes($0, to: output, origins: origins) }
        ) {
            return written
        }
        // Only bridged or lazily built strings get here; they are copied once.
        let bytes = Array(text.utf8.prefix(Self.maximumInputBytes + 4))
        return bytes.withUnsafeBufferPointer { Self.foldBytes($0, to: output, origins: origins) }
    }

    /// Folds a phrase from the playbook into a new array (see ``fold(_:into:offsets:)``).
    static func fold(_ text: String) -> [UInt8] {
        var storage: [UInt8] = []
        var offsets: [Int32] = []
        _ = Self.fold(text, into: &storage, offsets: &offsets)
        return storage
    }

    /// The folding loop: one pass, writing through raw pointers (this runs over every segment of every tip).
    private static func foldBytes(
        _ input: UnsafeBufferPointer<UInt8>,
        to output: UnsafeMutablePointer<UInt8>,
        origins offsets: UnsafeMutablePointer<Int32>
    ) -> Int {
        var end = min(input.count, Self.maximumInputBytes)
        // Never cut a scalar in half: back up over continuation bytes (0b10xxxxxx).
        while end < input.count, end > 0, input[end] & 0xC0 == 0x80 { end -= 1 }
        var written = 0
        var pendingSpace = false
        var pendingSpaceOffset = 0
        var index = 0
        while index < end {
            let byte = input[index]
            var folded: UInt8 = byte
            var isSpace = false
            var width = 1
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                folded = byte | 0x20
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "_"), 0x00..<0x20, 0x7F:
                // Hyphens fold to spaces so "two-way" and "two way", "follow-up" and "follow up" match alike;
                // control characters carry no words.
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
                    break
                }
            default:
                break
            }
            if isSpace {
                // Remember where the run of spaces began: a range that ends at the folded space then ends
                // on a scalar boundary of the original.
                if !pendingSpace && written > 0 {
                    pendingSpace = true
                    pendingSpaceOffset = index
                }
            } else {
                if pendingSpace {
                    output[written] = UInt8(ascii: " ")
                    offsets[written] = Int32(pendingSpaceOffset)
                    written += 1
                    pendingSpace = false
                }
                // A multi-byte scalar folded to one ASCII byte (a curly quote) is stored as that byte.
                output[written] = folded
                offsets[written] = Int32(index)
                written += 1
            }
            index += width
        }
        return written
    }
}

/// An open-addressing table from a 64-bit word hash to a range of a flat array: the phrase index of
/// ``PhraseMatcher`` and the word sets of the analysis. The keys are already FNV hashes, so lookups
/// skip `Hasher` (which was a tenth of a tip's time).
struct WordHashTable: Sendable {
    /// Slot keys; 0 marks an empty slot (a real hash of 0 is stored as 1).
    private var keys: [UInt64]
    /// Per slot: the range of ``values`` holding its entries.
    private var ranges: [Range<Int32>]
    /// The entries of all keys, grouped by key.
    private(set) var values: [Int32]
    private var mask: Int

    /// - Parameter entries: each key with its entries, in the order they should be returned.
    init(_ entries: [(key: UInt64, values: [Int32])]) {
        var size = 8
        while size < entries.count * 2 { size <<= 1 }
        self.keys = Array(repeating: 0, count: size)
        self.ranges = Array(repeating: 0..<0, count: size)
        self.values = []
        self.mask = size - 1
        for (key, values) in entries {
            let stored = key == 0 ? 1 : key
            var slot = Int(truncatingIfNeeded: stored) & self.mask
            while self.keys[slot] != 0 && self.keys[slot] != stored { slot = (slot + 1) & self.mask }
            precondition(self.keys[slot] == 0, "duplicate key in WordHashTable")
            self.keys[slot] = stored
            let start = Int32(self.values.count)
            self.values.append(contentsOf: values)
            self.ranges[slot] = start..<Int32(self.values.count)
        }
    }

    /// A set of words (folded), for membership tests by hash.
    init(words: [String]) {
        var seen = Set<UInt64>()
        var entries: [(key: UInt64, values: [Int32])] = []
        for word in words {
            let hash = TextFolding.fold(word).withUnsafeBufferPointer { PhraseMatcher.hash($0, 0, $0.count) }
            if seen.insert(hash).inserted { entries.append((hash, [])) }
        }
        self.init(entries)
    }

    /// The entries of `key`, or nil when it is absent.
    @inline(__always)
    func lookup(_ key: UInt64) -> Range<Int>? {
        let stored = key == 0 ? 1 : key
        var slot = Int(truncatingIfNeeded: stored) & self.mask
        while true {
            let found = self.keys[slot]
            if found == stored { return Int(self.ranges[slot].lowerBound)..<Int(self.ranges[slot].upperBound) }
            if found == 0 { return nil }
            slot = (slot + 1) & self.mask
        }
    }

    @inline(__always)
    func contains(_ key: UInt64) -> Bool {
        self.lookup(key) != nil
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

    /// The phrases as compiled (for inspection; matching reads the flat copies below).
    private(set) var patterns: [Pattern] = []
    /// First-word hash to pattern indices, longest phrase first.
    private var byFirstWord = WordHashTable([])
    /// All phrase bytes back to back, and per pattern its start, length, tag and end-boundary flag: flat
    /// arrays read through one pointer each, so matching retains nothing per candidate.
    private var bytes: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var tags: [UInt32] = []
    private var needsEndBoundary: [Bool] = []

    init() {}

    /// Compiles `phrases` (already folded, each starting with a word byte; others are skipped).
    init(_ phrases: [(bytes: [UInt8], tag: UInt32)]) {
        var byFirstWord: [UInt64: [Int32]] = [:]
        var order: [UInt64] = []
        for (bytes, tag) in phrases {
            guard let first = bytes.first, TextFolding.isWordByte(first) else { continue }
            var wordEnd = 0
            while wordEnd < bytes.count, TextFolding.isWordByte(bytes[wordEnd]) { wordEnd += 1 }
            let hash = bytes.withUnsafeBufferPointer { Self.hash($0, 0, wordEnd) }
            if byFirstWord[hash] == nil { order.append(hash) }
            byFirstWord[hash, default: []].append(Int32(self.patterns.count))
            self.patterns.append(
                Pattern(bytes: bytes, tag: tag, needsEndBoundary: TextFolding.isWordByte(bytes[bytes.count - 1]))
            )
        }
        for pattern in self.patterns {
            self.starts.append(Int32(self.bytes.count))
            self.lengths.append(Int32(pattern.bytes.count))
            self.bytes.append(contentsOf: pattern.bytes)
            self.tags.append(pattern.tag)
            self.needsEndBoundary.append(pattern.needsEndBoundary)
        }
        let patterns = self.patterns
        self.byFirstWord = WordHashTable(
            order.map { key in
                (key, byFirstWord[key]!.sorted { patterns[Int($0)].bytes.count > patterns[Int($1)].bytes.count })
            }
        )
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

    /// Calls `body` with the tag and byte range of every phrase occurrence in `text`, in order of start
    /// (at one start, longest phrase first).
    /// - Parameter text: folded text (see ``TextFolding``).
    func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (_ tag: UInt32, _ range: Range<Int>) -> Void) {
        guard !self.patterns.isEmpty else { return }
        self.bytes.withUnsafeBufferPointer { phrases in
            self.byFirstWord.values.withUnsafeBufferPointer { candidates in
                let count = text.count
                var index = 0
                while index < count {
                    guard TextFolding.isWordByte(text[index]) else {
                        index += 1
                        continue
                    }
                    var wordEnd = index + 1
                    while wordEnd < count, TextFolding.isWordByte(text[wordEnd]) { wordEnd += 1 }
                    if let range = self.byFirstWord.lookup(Self.hash(text, index, wordEnd)) {
                        for position in range {
                            let pattern = Int(candidates[position])
                            let length = Int(self.lengths[pattern])
                            guard index + length <= count else { continue }
                            let start = Int(self.starts[pattern])
                            // Compare from the first byte: the first word matched only by hash.
                            var offset = 0
                            while offset < length, phrases[start + offset] == text[index + offset] { offset += 1 }
                            guard offset == length else { continue }
                            if self.needsEndBoundary[pattern], index + length < count,
                                TextFolding.isWordByte(text[index + length])
                            {
                                continue
                            }
                            body(self.tags[pattern], index..<(index + length))
                        }
                    }
                    index = wordEnd
                }
            }
        }
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
