/// One thing said, prepared for the rules: a transcript segment, or the `agentUtterance` /
/// `customerReaction` of a REQUEST_NEXT_TIP (virtual: no times, always the newest evidence).
struct Utterance {
    var speaker: Speaker
    /// The folded bytes in ``TranscriptAnalysis/storage`` (and their origins in ``TranscriptAnalysis/offsets``).
    var text: Range<Int>
    /// The text as said, for showing a short quote in its own spelling.
    var original: String
    var startMs: Int?
    var endMs: Int?
    var isVirtual: Bool
    /// The hits of this utterance in ``TranscriptAnalysis/hits``.
    var hits: Range<Int> = 0..<0
    /// The sentences of this utterance in ``TranscriptAnalysis/sentenceList``.
    var sentences: Range<Int> = 0..<0
}

/// A playbook phrase found in an utterance.
struct PhraseHit {
    var utterance: Int
    var tag: UInt32
    /// Folded byte range in ``TranscriptAnalysis/storage``.
    var range: Range<Int>

    var group: PhraseGroup { PhraseTag.group(self.tag) }
    var index: Int { PhraseTag.index(self.tag) }
}

/// A sentence of an utterance: the unit of questions, answers and commitments.
struct Sentence {
    /// Folded byte range in ``TranscriptAnalysis/storage``, without its terminator.
    var range: Range<Int>
    /// Ends with '?', or (in unpunctuated text) starts with an interrogative word.
    var isQuestion: Bool
    var wordCount: Int
}

/// The transcript of one tip or summary, folded and scanned once for every playbook phrase.
///
/// Built per call by ``RuleCoach``; holds the folded text of every utterance in one buffer, so the
/// whole analysis costs a handful of allocations whatever the number of segments and phrases.
struct TranscriptAnalysis {
    let playbook: Playbook
    /// Folded text of all utterances, back to back.
    private(set) var storage: [UInt8] = []
    /// For each byte of ``storage``, the offset in its utterance's original UTF-8 it came from.
    private(set) var offsets: [Int32] = []
    private(set) var utterances: [Utterance] = []
    private(set) var hits: [PhraseHit] = []
    /// The sentences of all utterances, split once.
    private(set) var sentenceList: [Sentence] = []
    /// Mentions of the call's own competitor names (`metadata.competitors`), which the compiled
    /// matcher does not know: utterance and display name.
    private(set) var metadataCompetitorHits: [(utterance: Int, name: String)] = []

    /// - Parameters:
    ///   - segments: the transcript, oldest first.
    ///   - agentUtterance, customerReaction: a REQUEST_NEXT_TIP's evidence, appended in that order.
    ///   - extraCompetitors: names from the call's metadata (at most 20 are used).
    init(
        playbook: Playbook,
        segments: [Segment],
        agentUtterance: String?,
        customerReaction: String?,
        extraCompetitors: [String]
    ) {
        self.playbook = playbook
        // Fold every utterance into one buffer sized up front: folding never lengthens text, so the
        // inputs' lengths (capped) plus one separator each bound it.
        var inputs: [(text: String, speaker: Speaker, startMs: Int?, endMs: Int?, isVirtual: Bool)] = []
        inputs.reserveCapacity(segments.count + 2)
        for segment in segments {
            inputs.append((segment.text, segment.speaker, segment.startMs, segment.endMs, false))
        }
        if let agentUtterance { inputs.append((agentUtterance, .agent, nil, nil, true)) }
        if let customerReaction { inputs.append((customerReaction, .customer, nil, nil, true)) }
        var capacity = 0
        for input in inputs { capacity += min(input.text.utf8.count, TextFolding.maximumInputBytes) + 1 }
        var offsets = [Int32](repeating: 0, count: capacity)
        var utterances: [Utterance] = []
        utterances.reserveCapacity(inputs.count)
        self.storage = [UInt8](unsafeUninitializedCapacity: capacity) { output, initialized in
            offsets.withUnsafeMutableBufferPointer { origins in
                var position = 0
                for input in inputs {
                    if position > 0 {
                        // A separator keeps utterances apart for whole-word checks at their edges.
                        output[position] = UInt8(ascii: "\n")
                        origins[position] = 0
                        position += 1
                    }
                    let written = TextFolding.fold(
                        input.text,
                        to: output.baseAddress! + position,
                        origins: origins.baseAddress! + position
                    )
                    utterances.append(
                        Utterance(
                            speaker: input.speaker,
                            text: position..<(position + written),
                            original: input.text,
                            startMs: input.startMs,
                            endMs: input.endMs,
                            isVirtual: input.isVirtual
                        )
                    )
                    position += written
                }
                initialized = position
            }
        }
        offsets.removeLast(capacity - self.storage.count)
        self.offsets = offsets
        self.utterances = utterances

        let names = extraCompetitors.prefix(20).map { (display: $0, folded: TextFolding.fold($0)) }.filter {
            !$0.folded.isEmpty
        }
        let matcher = playbook.matcher
        var hits: [PhraseHit] = []
        var competitorHits: [(utterance: Int, name: String)] = []
        var sentences: [Sentence] = []
        self.storage.withUnsafeBufferPointer { all in
            for index in self.utterances.indices {
                let range = self.utterances[index].text
                let text = UnsafeBufferPointer(rebasing: all[range])
                let first = hits.count
                matcher.forEachMatch(in: text) { tag, match in
                    hits.append(
                        PhraseHit(
                            utterance: index,
                            tag: tag,
                            range: (match.lowerBound + range.lowerBound)..<(match.upperBound + range.lowerBound)
                        )
                    )
                }
                self.utterances[index].hits = first..<hits.count
                if self.utterances[index].speaker == .customer {
                    for name in names where WordSearch.contains(name.folded, in: text) {
                        competitorHits.append((index, name.display))
                    }
                }
                let firstSentence = sentences.count
                Self.split(all, range, into: &sentences)
                self.utterances[index].sentences = firstSentence..<sentences.count
            }
        }
        self.hits = hits
        self.metadataCompetitorHits = competitorHits
        self.sentenceList = sentences
    }

    // MARK: - Text access

    /// Calls `body` with the folded bytes of `range`.
    func withBytes<Result>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        self.storage.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The folded text of `range`, as a string (lowercase).
    func foldedString(_ range: Range<Int>) -> String {
        self.withBytes(range) { String(decoding: $0, as: UTF8.self) }
    }

    /// The original spelling of the folded `range` of utterance `index`.
    func originalString(_ range: Range<Int>, in index: Int) -> String {
        let utterance = self.utterances[index]
        guard !range.isEmpty, range.lowerBound >= utterance.text.lowerBound,
            range.upperBound <= utterance.text.upperBound
        else {
            return ""
        }
        let start = Int(self.offsets[range.lowerBound])
        let end =
            range.upperBound < utterance.text.upperBound
            ? Int(self.offsets[range.upperBound]) : utterance.original.utf8.count
        var original = utterance.original
        return original.withUTF8 { bytes in
            let lower = max(0, min(start, bytes.count))
            let upper = max(lower, min(end, bytes.count))
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[lower..<upper]), as: UTF8.self)
                .trimmingWhitespace()
        }
    }

    /// A matched phrase as the speaker wrote it, lowercased unless it holds a capital past its first letter
    /// (a name), and at most eight words.
    func phrase(_ range: Range<Int>, in index: Int) -> String {
        var text = self.originalString(range, in: index)
        if text.isEmpty { text = self.foldedString(range) }
        if !text.dropFirst().contains(where: \.isUppercase), let first = text.first {
            text = first.lowercased() + text.dropFirst()
        }
        return Self.shorten(text, maximumWords: 8)
    }

    /// The hits of utterance `index` in `group`.
    func hits(of index: Int, in group: PhraseGroup) -> some Sequence<PhraseHit> {
        self.hits[self.utterances[index].hits].lazy.filter { $0.group == group }
    }

    /// Whether utterance `index` has a hit in `group`.
    func has(_ group: PhraseGroup, in index: Int) -> Bool {
        self.hits[self.utterances[index].hits].contains { $0.group == group }
    }

    // MARK: - Sentences and questions

    /// The sentences of utterance `index`.
    func sentences(of index: Int) -> ArraySlice<Sentence> {
        self.sentenceList[self.utterances[index].sentences]
    }

    /// Splits the folded text at `range` of `all` into sentences. A sentence ends at '.', '!' or '?'
    /// followed by a space or the end (so "1.20" stays whole).
    static func split(_ all: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into result: inout [Sentence]) {
        let first = result.count
        let text = UnsafeBufferPointer(rebasing: all[range])
        var hasTerminator = false
        var sentenceStart = 0
        var position = 0
        func close(_ end: Int, terminator: UInt8?) {
            var start = sentenceStart
            while start < end, text[start] == UInt8(ascii: " ") { start += 1 }
            guard start < end else { return }
            let words = WordSearch.wordCount(UnsafeBufferPointer(rebasing: text[start..<end]))
            guard words > 0 else { return }
            result.append(
                Sentence(
                    range: (range.lowerBound + start)..<(range.lowerBound + end),
                    isQuestion: terminator == UInt8(ascii: "?"),
                    wordCount: words
                )
            )
        }
        while position < text.count {
            let byte = text[position]
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "!") || byte == UInt8(ascii: "?"),
                position + 1 == text.count || text[position + 1] == UInt8(ascii: " ")
            {
                hasTerminator = true
                close(position, terminator: byte)
                sentenceStart = position + 1
            }
            position += 1
        }
        close(text.count, terminator: nil)
        for sentenceIndex in first..<result.count {
            let sentence = UnsafeBufferPointer(rebasing: all[result[sentenceIndex].range])
            // Speech-to-text without punctuation: a sentence that opens with an interrogative is a question.
            if !hasTerminator { result[sentenceIndex].isQuestion = Self.startsWithInterrogative(sentence) }
            // "Right?" or "that's the point, right?" is a tag, not a question.
            if result[sentenceIndex].isQuestion && (result[sentenceIndex].wordCount < 2 || Self.isTagQuestion(sentence))
            {
                result[sentenceIndex].isQuestion = false
            }
        }
    }

    /// The words of `text`, each as the FNV hash used by the word sets below, with its byte range.
    static func forEachWord(_ text: UnsafeBufferPointer<UInt8>, _ body: (UInt64, Range<Int>) -> Bool) {
        var index = 0
        while index < text.count {
            guard TextFolding.isWordByte(text[index]) else {
                index += 1
                continue
            }
            var end = index + 1
            while end < text.count, TextFolding.isWordByte(text[end]) { end += 1 }
            if !body(PhraseMatcher.hash(text, index, end), index..<end) { return }
            index = end
        }
    }

    static func hashes(_ words: [String]) -> WordHashTable {
        WordHashTable(words: words)
    }

    /// Words that open a question.
    static let interrogatives = hashes([
        "what", "what's", "how", "how's", "why", "when", "where", "where's", "who", "who's", "which", "whose", "can",
        "could", "do", "does", "did", "is", "are", "was", "were", "will", "would", "should", "shall", "have", "has",
        "may", "isn't", "aren't", "don't", "doesn't", "won't", "wouldn't", "can't", "couldn't",
    ])

    /// Words skipped at the start of a sentence before looking for an interrogative ("so how ...").
    static let openers = hashes(["and", "so", "but", "okay", "ok", "also", "then", "right", "well", "um", "uh", "oh"])

    /// Whole sentences that only seek agreement.
    static let tags = hashes([
        "right", "really", "okay", "ok", "yeah", "sorry", "huh", "no", "know", "it", "yes", "correct",
    ])

    /// Words that open a direct answer to a yes/no question.
    static let answerOpeners = hashes([
        "yes", "yeah", "yep", "no", "nope", "correct", "exactly", "absolutely", "definitely", "sure", "it", "we",
        "they",
        "that's", "it's", "we're", "you", "our", "there's", "not",
    ])

    /// Words too common to tell whether an answer is about the question.
    static let stopwords = hashes([
        "about", "after", "again", "also", "always", "anything", "around", "because", "been", "before", "being",
        "could",
        "does", "doing", "done", "each", "even", "every", "from", "going", "good", "have", "here", "into", "just",
        "kind",
        "know", "like", "look", "looks", "make", "many", "more", "most", "much", "need", "only", "other", "over",
        "really",
        "right", "same", "should", "some", "something", "sort", "sure", "tell", "than", "that", "that's", "their",
        "them",
        "then", "there", "these", "they", "thing", "things", "think", "this", "those", "through", "time", "today",
        "tool",
        "tools", "very", "want", "well", "were", "what", "what's", "when", "where", "which", "while", "will", "with",
        "work", "works", "would", "your", "you're", "yours", "able", "okay", "yeah", "people", "team", "actually",
        "currently", "exactly", "maybe", "pretty", "quite", "still", "though", "already", "anyone", "someone", "else",
        "does", "doesn't", "don't", "isn't", "can't", "won't", "wouldn't", "it's", "we're", "they're", "there's",
        "we've",
        "i've", "i'd", "we'd", "how's", "who's", "with", "without", "part", "parts", "ways", "stuff", "question",
        "questions",
    ])

    static func startsWithInterrogative(_ sentence: UnsafeBufferPointer<UInt8>) -> Bool {
        var result = false
        Self.forEachWord(sentence) { hash, _ in
            if Self.openers.contains(hash) { return true }
            result = Self.interrogatives.contains(hash)
            return false
        }
        return result
    }

    static func isTagQuestion(_ sentence: UnsafeBufferPointer<UInt8>) -> Bool {
        // "That's the point, right?": a statement with a tag after its last comma.
        if let comma = sentence.lastIndex(of: UInt8(ascii: ",")), comma > 0 {
            if Self.isTagQuestion(UnsafeBufferPointer(rebasing: sentence[(comma + 1)...])) { return true }
        }
        var words = 0
        var allTags = true
        Self.forEachWord(sentence) { hash, _ in
            words += 1
            if !Self.tags.contains(hash) && !Self.openers.contains(hash) && hash != Self.youHash
                && hash != Self.isntHash
            {
                allTags = false
            }
            return words <= 3
        }
        return words <= 3 && allTags
    }

    private static let youHash = Array("you".utf8).withUnsafeBufferPointer { PhraseMatcher.hash($0, 0, $0.count) }
    private static let isntHash = Array("isn't".utf8).withUnsafeBufferPointer { PhraseMatcher.hash($0, 0, $0.count) }

    /// The salient words of `range` (4+ bytes, not stopwords, holding a letter), as hashes.
    func salientWords(_ range: Range<Int>) -> [UInt64] {
        self.withBytes(range) { text in
            var result: [UInt64] = []
            Self.forEachWord(text) { hash, word in
                if word.count >= 4, !Self.stopwords.contains(hash),
                    text[word].contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") || $0 >= 0x80 })
                {
                    result.append(hash)
                }
                return result.count < 12
            }
            return result
        }
    }

    /// Whether `range` contains a word whose hash is in `words`.
    func containsAny(_ words: [UInt64], in range: Range<Int>) -> Bool {
        guard !words.isEmpty else { return false }
        return self.withBytes(range) { text in
            var found = false
            Self.forEachWord(text) { hash, _ in
                found = words.contains(hash)
                return !found
            }
            return found
        }
    }

    /// What an agent sentence does for a pending customer question.
    enum AnswerRole {
        /// An acknowledgement or deflection with nothing else in it ("Good question.", "Sure."): look on.
        case filler
        /// A statement of four or more words beyond any deflection phrase, or a direct opener ("Yes.",
        /// "It does."): the agent answered.
        case answer
        /// Anything else, such as a question back: the agent moved on.
        case other
    }

    func answerRole(of sentence: Sentence, in index: Int) -> AnswerRole {
        var deflectionWords = 0
        for hit in self.hits(of: index, in: .deflection) where sentence.range.contains(hit.range.lowerBound) {
            deflectionWords += self.withBytes(hit.range) { WordSearch.wordCount($0) }
        }
        let words = sentence.wordCount - deflectionWords
        guard !sentence.isQuestion else { return words <= 0 ? .filler : .other }
        if words >= 4 { return .answer }
        if words <= 0 { return .filler }
        let opens = self.withBytes(sentence.range) { text in
            var opens = false
            Self.forEachWord(text) { hash, _ in
                opens = Self.answerOpeners.contains(hash)
                return false
            }
            return opens
        }
        if opens && deflectionWords == 0 { return .answer }
        return words <= 2 ? .filler : .other
    }

    /// A customer question and whether the agent dealt with it.
    struct Question {
        var utterance: Int
        var sentence: Sentence
        /// No agent utterance followed it yet.
        var isPending: Bool
    }

    /// Customer questions among utterances `window` that no agent answer followed: the first sentence of
    /// the next agent turn that is not filler is no answer (``AnswerRole``), and no later agent statement
    /// mentions a salient word of the question. A question the agent answers with a question about the
    /// same thing (a clarifying question) counts as pending. Virtual utterances are never questions (a
    /// `customerReaction` is the rep's description, not the customer's words).
    func openQuestions(in window: Range<Int>) -> [Question] {
        var result: [Question] = []
        for index in window where self.utterances[index].speaker == .customer && !self.utterances[index].isVirtual {
            for sentence in self.sentences(of: index) where sentence.isQuestion {
                let keywords = self.salientWords(sentence.range)
                var firstTurnSeen = false
                var firstTurnAnswered = false
                var firstTurnDecided = false
                var clarifying = false
                var mentionedLater = false
                var next = index + 1
                var inFirstTurn = false
                while next < self.utterances.count {
                    let utterance = self.utterances[next]
                    if utterance.speaker == .agent {
                        if !firstTurnSeen {
                            firstTurnSeen = true
                            inFirstTurn = true
                        }
                        for agentSentence in self.sentences(of: next) {
                            if inFirstTurn && !firstTurnDecided {
                                // The first sentence that is more than an acknowledgement decides.
                                switch self.answerRole(of: agentSentence, in: next) {
                                case .filler:
                                    break
                                case .answer:
                                    firstTurnAnswered = true
                                    firstTurnDecided = true
                                case .other:
                                    firstTurnDecided = true
                                    if agentSentence.isQuestion && self.containsAny(keywords, in: agentSentence.range) {
                                        clarifying = true
                                    }
                                }
                            }
                            if !agentSentence.isQuestion && agentSentence.wordCount >= 3
                                && self.containsAny(keywords, in: agentSentence.range)
                            {
                                mentionedLater = true
                            }
                        }
                    } else if firstTurnSeen {
                        inFirstTurn = false
                    }
                    if firstTurnAnswered || mentionedLater { break }
                    next += 1
                }
                if firstTurnAnswered || mentionedLater { continue }
                if !firstTurnSeen {
                    result.append(Question(utterance: index, sentence: sentence, isPending: true))
                } else if clarifying {
                    // Asking back about the same thing: wait for the answer that should follow.
                    result.append(Question(utterance: index, sentence: sentence, isPending: true))
                } else {
                    result.append(Question(utterance: index, sentence: sentence, isPending: false))
                }
            }
        }
        return result
    }

    /// A short, readable form of a question: its original words, cut to at most `maximumWords`.
    func quote(_ range: Range<Int>, in index: Int, maximumWords: Int) -> String {
        let original = self.originalString(range, in: index)
        return Self.shorten(original.isEmpty ? self.foldedString(range) : original, maximumWords: maximumWords)
    }

    /// `text` cut to at most `maximumWords` words (with "…" when cut).
    static func shorten(_ text: String, maximumWords: Int) -> String {
        var words = 0
        var inWord = false
        var cut: String.Index? = nil
        for index in text.indices {
            let isSpace = text[index] == " " || text[index] == "\n" || text[index] == "\t"
            if !isSpace && !inWord {
                words += 1
                if words > maximumWords {
                    cut = index
                    break
                }
            }
            inWord = !isSpace
        }
        guard let cut else { return text }
        var result = String(text[..<cut]).trimmingWhitespace()
        while let last = result.last, last == "," || last == ";" || last == ":" { result.removeLast() }
        return result + "…"
    }

    /// The topic of a question for "your question about {topic}": its proper nouns ("Gong"), else its
    /// salient words, else "that".
    func topic(of sentence: Sentence, in index: Int) -> String {
        let original = self.originalString(sentence.range, in: index)
        var properNouns: [Substring] = []
        var first = true
        for word in original.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "?" || $0 == "." || $0 == "!" }) {
            defer { first = false }
            guard !first, let initial = word.first, initial.isUppercase, word != "I", !word.hasPrefix("I'") else {
                continue
            }
            if !properNouns.contains(word) { properNouns.append(word) }
            if properNouns.count == 2 { break }
        }
        if !properNouns.isEmpty { return properNouns.joined(separator: " and ") }
        let text = self.foldedString(sentence.range)
        var salient: [Substring] = []
        for word in text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "'") })
        where word.utf8.count >= 4 {
            let hash = Array(word.utf8).withUnsafeBufferPointer { PhraseMatcher.hash($0, 0, $0.count) }
            if !Self.stopwords.contains(hash) { salient.append(word) }
            if salient.count == 2 { break }
        }
        if !salient.isEmpty { return "the " + salient.joined(separator: " ") }
        return "that"
    }

    // MARK: - Next steps

    /// Whether a next step has been agreed in the transcript: an invite or booking confirmed; a
    /// customer accepting with a day or time ("Wednesday at ten works"); or a customer accepting right
    /// after the agent proposed one with a day or time.
    func nextStepAgreed() -> (agreed: Bool, utterance: Int?) {
        var proposedAt: Int? = nil
        for index in self.utterances.indices {
            let utterance = self.utterances[index]
            if self.has(.nextStepAgreed, in: index) { return (true, index) }
            let hasTime = self.has(.nextStepTime, in: index)
            switch utterance.speaker {
            case .agent:
                if hasTime && self.has(.nextStepProposal, in: index) { proposedAt = index }
            case .customer:
                if self.has(.acceptance, in: index) {
                    if hasTime { return (true, index) }
                    if let proposedAt, index - proposedAt <= 2 { return (true, index) }
                }
                // A customer's own proposal with a time counts as agreed once the agent accepts it; the
                // customer accepting their own words is covered above.
                if hasTime && self.has(.nextStepProposal, in: index) { proposedAt = index }
            }
        }
        return (false, nil)
    }

    // MARK: - Discovery

    /// The discovery topics already dealt with, in the order they came up: asked about by the agent (a
    /// `covered` phrase in an agent question), or volunteered by the customer (a `mentioned` phrase), plus
    /// the topics each of those `implies`.
    func coveredDiscoveryTopics() -> [Int] {
        var order: [Int] = []
        var seen = Set<Int>()
        func cover(_ topic: Int) {
            // Depth-first over `implies`; `seen` stops cycles.
            guard seen.insert(topic).inserted else { return }
            order.append(topic)
            for implied in self.playbook.discovery[topic].implies { cover(implied) }
        }
        for index in self.utterances.indices {
            switch self.utterances[index].speaker {
            case .agent:
                let sentences = self.sentences(of: index)
                for hit in self.hits(of: index, in: .discoveryCovered)
                where sentences.contains(where: { $0.isQuestion && $0.range.contains(hit.range.lowerBound) }) {
                    cover(hit.index)
                }
            case .customer:
                guard !self.utterances[index].isVirtual else { continue }
                for hit in self.hits(of: index, in: .discoveryMentioned) { cover(hit.index) }
            }
        }
        return order
    }

    // MARK: - Timing

    /// `later - earlier`, saturating: segment times are the client's, and a subtraction must not trap
    /// even on values the protocol layer should have refused.
    static func difference(_ later: Int, _ earlier: Int) -> Int {
        let (result, overflow) = later.subtractingReportingOverflow(earlier)
        guard overflow else { return result }
        return later > earlier ? Int.max : Int.min
    }

    /// A run of agent speech without a customer word, with its length.
    struct Monologue {
        var first: Int
        var last: Int
        var milliseconds: Int
    }

    /// The newest run of consecutive agent segments longer than `thresholdMs`: from the first one's start
    /// to the last one's end, or (without times) at 150 words a minute.
    func newestMonologue(thresholdMs: Int) -> Monologue? {
        var found: Monologue? = nil
        var runStart: Int? = nil
        var words = 0
        func closeRun(_ end: Int) {
            guard let start = runStart else { return }
            let first = self.utterances[start]
            let last = self.utterances[end]
            let milliseconds: Int
            if let begin = first.startMs, let finish = last.endMs ?? last.startMs, finish >= begin {
                milliseconds = Self.difference(finish, begin)
            } else {
                milliseconds = words * 400
            }
            if milliseconds > thresholdMs { found = Monologue(first: start, last: end, milliseconds: milliseconds) }
        }
        for index in self.utterances.indices where !self.utterances[index].isVirtual {
            if self.utterances[index].speaker == .agent {
                if runStart == nil {
                    runStart = index
                    words = 0
                }
                words += self.withBytes(self.utterances[index].text) { WordSearch.wordCount($0) }
            } else {
                if runStart != nil { closeRun(index - 1) }
                runStart = nil
            }
        }
        if runStart != nil, let last = self.utterances.lastIndex(where: { !$0.isVirtual }) { closeRun(last) }
        return found
    }

    /// The newest gap longer than `thresholdMs` between two consecutive timed segments: the later
    /// segment's index and the gap.
    func newestGap(thresholdMs: Int) -> (utterance: Int, milliseconds: Int)? {
        var found: (Int, Int)? = nil
        var previousEnd: Int? = nil
        for index in self.utterances.indices where !self.utterances[index].isVirtual {
            let utterance = self.utterances[index]
            if let previousEnd, let start = utterance.startMs, Self.difference(start, previousEnd) > thresholdMs {
                found = (index, Self.difference(start, previousEnd))
            }
            if let end = utterance.endMs ?? utterance.startMs { previousEnd = max(previousEnd ?? end, end) }
        }
        return found
    }
}
