//! The SLIP-0039 word list: 1024 words, alphabetical, unique in their first four letters.
//!
//! Data copied from SLIP-0039 (SatoshiLabs); `vectors/slip39/wordlist.txt` holds the same
//! list and a unit test keeps the two equal.

use super::ct;

/// The 1024 words; a word's position is the 10-bit value it encodes.
pub(crate) const WORDS: [&str; 1024] = [
    "academic", "acid", "acne", "acquire", "acrobat", "activity", "actress", "adapt", "adequate",
    "adjust", "admit", "adorn", "adult", "advance", "advocate", "afraid", "again", "agency",
    "agree", "aide", "aircraft", "airline", "airport", "ajar", "alarm", "album", "alcohol",
    "alien", "alive", "alpha", "already", "alto", "aluminum", "always", "amazing", "ambition",
    "amount", "amuse", "analysis", "anatomy", "ancestor", "ancient", "angel", "angry", "animal",
    "answer", "antenna", "anxiety", "apart", "aquatic", "arcade", "arena", "argue", "armed",
    "artist", "artwork", "aspect", "auction", "august", "aunt", "average", "aviation", "avoid",
    "award", "away", "axis", "axle", "beam", "beard", "beaver", "become", "bedroom", "behavior",
    "being", "believe", "belong", "benefit", "best", "beyond", "bike", "biology", "birthday",
    "bishop", "black", "blanket", "blessing", "blimp", "blind", "blue", "body", "bolt", "boring",
    "born", "both", "boundary", "bracelet", "branch", "brave", "breathe", "briefing", "broken",
    "brother", "browser", "bucket", "budget", "building", "bulb", "bulge", "bumpy", "bundle",
    "burden", "burning", "busy", "buyer", "cage", "calcium", "camera", "campus", "canyon",
    "capacity", "capital", "capture", "carbon", "cards", "careful", "cargo", "carpet", "carve",
    "category", "cause", "ceiling", "center", "ceramic", "champion", "change", "charity", "check",
    "chemical", "chest", "chew", "chubby", "cinema", "civil", "class", "clay", "cleanup", "client",
    "climate", "clinic", "clock", "clogs", "closet", "clothes", "club", "cluster", "coal",
    "coastal", "coding", "column", "company", "corner", "costume", "counter", "course", "cover",
    "cowboy", "cradle", "craft", "crazy", "credit", "cricket", "criminal", "crisis", "critical",
    "crowd", "crucial", "crunch", "crush", "crystal", "cubic", "cultural", "curious", "curly",
    "custody", "cylinder", "daisy", "damage", "dance", "darkness", "database", "daughter",
    "deadline", "deal", "debris", "debut", "decent", "decision", "declare", "decorate", "decrease",
    "deliver", "demand", "density", "deny", "depart", "depend", "depict", "deploy", "describe",
    "desert", "desire", "desktop", "destroy", "detailed", "detect", "device", "devote", "diagnose",
    "dictate", "diet", "dilemma", "diminish", "dining", "diploma", "disaster", "discuss",
    "disease", "dish", "dismiss", "display", "distance", "dive", "divorce", "document", "domain",
    "domestic", "dominant", "dough", "downtown", "dragon", "dramatic", "dream", "dress", "drift",
    "drink", "drove", "drug", "dryer", "duckling", "duke", "duration", "dwarf", "dynamic", "early",
    "earth", "easel", "easy", "echo", "eclipse", "ecology", "edge", "editor", "educate", "either",
    "elbow", "elder", "election", "elegant", "element", "elephant", "elevator", "elite", "else",
    "email", "emerald", "emission", "emperor", "emphasis", "employer", "empty", "ending",
    "endless", "endorse", "enemy", "energy", "enforce", "engage", "enjoy", "enlarge", "entrance",
    "envelope", "envy", "epidemic", "episode", "equation", "equip", "eraser", "erode", "escape",
    "estate", "estimate", "evaluate", "evening", "evidence", "evil", "evoke", "exact", "example",
    "exceed", "exchange", "exclude", "excuse", "execute", "exercise", "exhaust", "exotic",
    "expand", "expect", "explain", "express", "extend", "extra", "eyebrow", "facility", "fact",
    "failure", "faint", "fake", "false", "family", "famous", "fancy", "fangs", "fantasy", "fatal",
    "fatigue", "favorite", "fawn", "fiber", "fiction", "filter", "finance", "findings", "finger",
    "firefly", "firm", "fiscal", "fishing", "fitness", "flame", "flash", "flavor", "flea",
    "flexible", "flip", "float", "floral", "fluff", "focus", "forbid", "force", "forecast",
    "forget", "formal", "fortune", "forward", "founder", "fraction", "fragment", "frequent",
    "freshman", "friar", "fridge", "friendly", "frost", "froth", "frozen", "fumes", "funding",
    "furl", "fused", "galaxy", "game", "garbage", "garden", "garlic", "gasoline", "gather",
    "general", "genius", "genre", "genuine", "geology", "gesture", "glad", "glance", "glasses",
    "glen", "glimpse", "goat", "golden", "graduate", "grant", "grasp", "gravity", "gray",
    "greatest", "grief", "grill", "grin", "grocery", "gross", "group", "grownup", "grumpy",
    "guard", "guest", "guilt", "guitar", "gums", "hairy", "hamster", "hand", "hanger", "harvest",
    "have", "havoc", "hawk", "hazard", "headset", "health", "hearing", "heat", "helpful", "herald",
    "herd", "hesitate", "hobo", "holiday", "holy", "home", "hormone", "hospital", "hour", "huge",
    "human", "humidity", "hunting", "husband", "hush", "husky", "hybrid", "idea", "identify",
    "idle", "image", "impact", "imply", "improve", "impulse", "include", "income", "increase",
    "index", "indicate", "industry", "infant", "inform", "inherit", "injury", "inmate", "insect",
    "inside", "install", "intend", "intimate", "invasion", "involve", "iris", "island", "isolate",
    "item", "ivory", "jacket", "jerky", "jewelry", "join", "judicial", "juice", "jump", "junction",
    "junior", "junk", "jury", "justice", "kernel", "keyboard", "kidney", "kind", "kitchen",
    "knife", "knit", "laden", "ladle", "ladybug", "lair", "lamp", "language", "large", "laser",
    "laundry", "lawsuit", "leader", "leaf", "learn", "leaves", "lecture", "legal", "legend",
    "legs", "lend", "length", "level", "liberty", "library", "license", "lift", "likely", "lilac",
    "lily", "lips", "liquid", "listen", "literary", "living", "lizard", "loan", "lobe", "location",
    "losing", "loud", "loyalty", "luck", "lunar", "lunch", "lungs", "luxury", "lying", "lyrics",
    "machine", "magazine", "maiden", "mailman", "main", "makeup", "making", "mama", "manager",
    "mandate", "mansion", "manual", "marathon", "march", "market", "marvel", "mason", "material",
    "math", "maximum", "mayor", "meaning", "medal", "medical", "member", "memory", "mental",
    "merchant", "merit", "method", "metric", "midst", "mild", "military", "mineral", "minister",
    "miracle", "mixed", "mixture", "mobile", "modern", "modify", "moisture", "moment", "morning",
    "mortgage", "mother", "mountain", "mouse", "move", "much", "mule", "multiple", "muscle",
    "museum", "music", "mustang", "nail", "national", "necklace", "negative", "nervous", "network",
    "news", "nuclear", "numb", "numerous", "nylon", "oasis", "obesity", "object", "observe",
    "obtain", "ocean", "often", "olympic", "omit", "oral", "orange", "orbit", "order", "ordinary",
    "organize", "ounce", "oven", "overall", "owner", "paces", "pacific", "package", "paid",
    "painting", "pajamas", "pancake", "pants", "papa", "paper", "parcel", "parking", "party",
    "patent", "patrol", "payment", "payroll", "peaceful", "peanut", "peasant", "pecan", "penalty",
    "pencil", "percent", "perfect", "permit", "petition", "phantom", "pharmacy", "photo", "phrase",
    "physics", "pickup", "picture", "piece", "pile", "pink", "pipeline", "pistol", "pitch",
    "plains", "plan", "plastic", "platform", "playoff", "pleasure", "plot", "plunge", "practice",
    "prayer", "preach", "predator", "pregnant", "premium", "prepare", "presence", "prevent",
    "priest", "primary", "priority", "prisoner", "privacy", "prize", "problem", "process",
    "profile", "program", "promise", "prospect", "provide", "prune", "public", "pulse", "pumps",
    "punish", "puny", "pupal", "purchase", "purple", "python", "quantity", "quarter", "quick",
    "quiet", "race", "racism", "radar", "railroad", "rainbow", "raisin", "random", "ranked",
    "rapids", "raspy", "reaction", "realize", "rebound", "rebuild", "recall", "receiver",
    "recover", "regret", "regular", "reject", "relate", "remember", "remind", "remove", "render",
    "repair", "repeat", "replace", "require", "rescue", "research", "resident", "response",
    "result", "retailer", "retreat", "reunion", "revenue", "review", "reward", "rhyme", "rhythm",
    "rich", "rival", "river", "robin", "rocky", "romantic", "romp", "roster", "round", "royal",
    "ruin", "ruler", "rumor", "sack", "safari", "salary", "salon", "salt", "satisfy", "satoshi",
    "saver", "says", "scandal", "scared", "scatter", "scene", "scholar", "science", "scout",
    "scramble", "screw", "script", "scroll", "seafood", "season", "secret", "security", "segment",
    "senior", "shadow", "shaft", "shame", "shaped", "sharp", "shelter", "sheriff", "short",
    "should", "shrimp", "sidewalk", "silent", "silver", "similar", "simple", "single", "sister",
    "skin", "skunk", "slap", "slavery", "sled", "slice", "slim", "slow", "slush", "smart", "smear",
    "smell", "smirk", "smith", "smoking", "smug", "snake", "snapshot", "sniff", "society",
    "software", "soldier", "solution", "soul", "source", "space", "spark", "speak", "species",
    "spelling", "spend", "spew", "spider", "spill", "spine", "spirit", "spit", "spray", "sprinkle",
    "square", "squeeze", "stadium", "staff", "standard", "starting", "station", "stay", "steady",
    "step", "stick", "stilt", "story", "strategy", "strike", "style", "subject", "submit", "sugar",
    "suitable", "sunlight", "superior", "surface", "surprise", "survive", "sweater", "swimming",
    "swing", "switch", "symbolic", "sympathy", "syndrome", "system", "tackle", "tactics",
    "tadpole", "talent", "task", "taste", "taught", "taxi", "teacher", "teammate", "teaspoon",
    "temple", "tenant", "tendency", "tension", "terminal", "testify", "texture", "thank", "that",
    "theater", "theory", "therapy", "thorn", "threaten", "thumb", "thunder", "ticket", "tidy",
    "timber", "timely", "ting", "tofu", "together", "tolerate", "total", "toxic", "tracks",
    "traffic", "training", "transfer", "trash", "traveler", "treat", "trend", "trial", "tricycle",
    "trip", "triumph", "trouble", "true", "trust", "twice", "twin", "type", "typical", "ugly",
    "ultimate", "umbrella", "uncover", "undergo", "unfair", "unfold", "unhappy", "union",
    "universe", "unkind", "unknown", "unusual", "unwrap", "upgrade", "upstairs", "username",
    "usher", "usual", "valid", "valuable", "vampire", "vanish", "various", "vegan", "velvet",
    "venture", "verdict", "verify", "very", "veteran", "vexed", "victim", "video", "view",
    "vintage", "violence", "viral", "visitor", "visual", "vitamins", "vocal", "voice", "volume",
    "voter", "voting", "walnut", "warmth", "warn", "watch", "wavy", "wealthy", "weapon", "webcam",
    "welcome", "welfare", "western", "width", "wildlife", "window", "wine", "wireless", "wisdom",
    "withdraw", "wits", "wolf", "woman", "work", "worthy", "wrap", "wrist", "writing", "wrote",
    "year", "yelp", "yield", "yoga", "zero",
];

/// The longest word in the list, in letters.
const MAX_WORD_LEN: usize = 8;

/// How many letters of a word identify it uniquely.
pub(crate) const PREFIX_LEN: usize = 4;

/// A word's letters packed little-endian into a `u64`, zero-padded (every word has at
/// most eight letters, none of them a zero byte).
const fn pack(word: &str) -> u64 {
    let bytes = word.as_bytes();
    let mut packed = 0u64;
    let mut i = 0;
    while i < bytes.len() && i < MAX_WORD_LEN {
        packed |= (bytes[i] as u64) << (8 * i);
        i += 1;
    }
    packed
}

/// [`WORDS`] packed by [`pack`], for the branch-free scans.
static PACKED: [u64; 1024] = {
    let mut table = [0u64; 1024];
    let mut i = 0;
    while i < 1024 {
        table[i] = pack(WORDS[i]);
        i += 1;
    }
    table
};

/// The length of each word of [`WORDS`].
static LENGTHS: [u64; 1024] = {
    let mut table = [0u64; 1024];
    let mut i = 0;
    while i < 1024 {
        table[i] = WORDS[i].len() as u64;
        i += 1;
    }
    table
};

/// 0 to 1023: the scans walk this beside the tables, a plain array loop that the
/// compiler turns into vector code (a counter it may turn into a branch per match).
static INDICES: [u64; 1024] = {
    let mut table = [0u64; 1024];
    let mut i = 0;
    while i < 1024 {
        table[i] = i as u64;
        i += 1;
    }
    table
};

// ---- Constant time: text to word values and back ----------------------------------
//
// Share text carries the share value, and these run in the agent on every submission,
// so they never branch on it or index memory by it. A typed word is packed into a
// `u64` and compared with *every* word of the list with masks; a word value picks its
// word by the same full scan. What they make public is listed at [`ct::public`].

/// Mask: `b` is ASCII whitespace (space, tab, line feed, vertical tab, form feed,
/// carriage return), the separators of share text.
#[inline(always)]
fn is_space(b: u8) -> u64 {
    let b = u64::from(b);
    ct::eq(b, 0x20) | (!ct::lt(b, 9) & ct::lt(b, 14))
}

/// How many words (runs of non-whitespace bytes) `text` holds, counted without
/// branching on it; the caller makes the count public.
pub(crate) fn count_words(text: &[u8]) -> u64 {
    let mut count = 0u64;
    let mut after_space = u64::MAX;
    for &b in text {
        let space = is_space(b);
        count += !space & after_space & 1;
        after_space = space;
    }
    count
}

/// The value of a packed typed word (lower case, its letters where `wanted` is set,
/// zero above them): the list word it is, or the one word it is a prefix of when it has
/// four letters or more. Returns `(value, found mask)`; every word of the list is
/// compared.
fn value_of(token: u64, wanted: u64) -> (u64, u64) {
    let long_enough = ct::eq(wanted & 0xffff_ffff, 0xffff_ffff);
    let mut value = 0u64;
    let mut found = 0u64;
    for (&i, &word) in INDICES.iter().zip(PACKED.iter()) {
        let hit = ct::eq(word & wanted, token);
        value |= i & hit;
        found |= hit;
    }
    (value & long_enough, found & long_enough)
}

/// The word values of share text with `count` words (from [`count_words`], made
/// public), and a mask that is set when every word is a known word or a four-letter
/// prefix of one, in ASCII letters of any case.
///
/// Nothing here branches on or indexes by the text: each byte is classified with masks,
/// a word's letters are appended with a shift, and a finished word is stored by writing
/// every slot with a select. A word of more than eight letters, or any other byte
/// (digits, punctuation, anything non-ASCII such as non-ASCII whitespace), clears the
/// mask; the caller then takes the detailed, not constant-time, error path.
pub(crate) fn values_of(text: &[u8], count: usize) -> (zeroize::Zeroizing<Vec<u16>>, u64) {
    use zeroize::Zeroizing;
    let mut tokens = Zeroizing::new(vec![0u64; count]);
    let mut wanted = Zeroizing::new(vec![0u64; count]);
    let mut store = |at: u64, token: u64, mask: u64, when: u64| {
        for ((slot, slot_mask), s) in tokens.iter_mut().zip(wanted.iter_mut()).zip(0u64..) {
            let hit = ct::eq(s, at) & when;
            *slot = ct::select(hit, token, *slot);
            *slot_mask = ct::select(hit, mask, *slot_mask);
        }
    };
    // `next` is the lowest bit of the byte the next letter goes to (0 once eight
    // letters are in); the letters so far fill the bytes below it, `next - 1`. It moves
    // by a fixed shift, so no shift amount depends on the text.
    let (mut token, mut next, mut at, mut in_word, mut bad) = (0u64, 1u64, 0u64, 0u64, 0u64);
    for &b in text {
        let space = is_space(b);
        let byte = u64::from(b);
        let upper = !ct::lt(byte, u64::from(b'A')) & ct::lt(byte, u64::from(b'Z') + 1);
        let lower = byte | (0x20 & upper);
        let letter = !ct::lt(lower, u64::from(b'a')) & ct::lt(lower, u64::from(b'z') + 1);
        bad |= !space & !letter;
        // A word ends at the first space after it.
        let end = space & in_word;
        store(at, token, next.wrapping_sub(1), end);
        at += end & 1;
        token &= !end;
        next = ct::select(end, 1, next);
        // Append a letter while it fits; a ninth letter makes the text invalid.
        let append = !space;
        let fits = ct::nonzero(next);
        token |= lower.wrapping_mul(next) & append;
        bad |= append & !fits;
        next = ct::select(append, next << 8, next);
        in_word = !space;
    }
    store(at, token, next.wrapping_sub(1), in_word);
    let mut values = Zeroizing::new(Vec::with_capacity(count));
    let mut known = !bad;
    for (&t, &w) in tokens.iter().zip(wanted.iter()) {
        let (value, found) = value_of(t, w);
        known &= found;
        values.push((value & 0x3ff) as u16);
    }
    (values, known)
}

/// The packed word and its length for a 10-bit value, by a full scan of the list.
fn word_of(value: u16) -> (u64, u64) {
    let value = u64::from(value);
    let mut word = 0u64;
    let mut len = 0u64;
    for ((&i, &packed), &length) in INDICES.iter().zip(PACKED.iter()).zip(LENGTHS.iter()) {
        let hit = ct::eq(i, value);
        word |= packed & hit;
        len |= length & hit;
    }
    (word, len)
}

/// The canonical text of word values (lower case, single spaces), without branching on
/// or indexing by them. Only the total length is made public ([`ct::public`]): it is
/// the length of the buffer. Each word is written to its place by visiting every byte
/// of the buffer, so where one word ends and the next begins stays secret.
pub(crate) fn text_of(values: &[u16]) -> zeroize::Zeroizing<Vec<u8>> {
    use zeroize::Zeroizing;
    let words: Zeroizing<Vec<(u64, u64)>> =
        Zeroizing::new(values.iter().map(|&v| word_of(v)).collect());
    let letters: u64 = words.iter().map(|&(_, len)| len).sum();
    let spaces = (values.len() as u64).saturating_sub(1);
    let total = usize::try_from(ct::public(letters + spaces)).unwrap_or(0);
    let mut out = Zeroizing::new(vec![0u8; total]);
    let mut start = 0u64;
    for &(word, len) in words.iter() {
        // `rest` holds the letters not yet written, the next in its low byte; it moves
        // on by a fixed shift at each byte from the word's start (shift amounts must
        // not depend on secrets: the checker, and some CPUs, treat them as such).
        let mut rest = word;
        for (byte, p) in out.iter_mut().zip(0u64..) {
            let started = !ct::lt(p, start);
            let inside = started & ct::lt(p, start + len);
            *byte |= (rest & 0xff & inside) as u8;
            rest = ct::select(started, rest >> 8, rest);
        }
        start += len + 1;
    }
    // Every byte no word covers is a separating space.
    for byte in out.iter_mut() {
        *byte |= (0x20 & !ct::nonzero(u64::from(*byte))) as u8;
    }
    out
}

/// Looks a typed word up in the list, by binary search.
///
/// The comparison ignores ASCII case. Besides whole words, any prefix of at least
/// [`PREFIX_LEN`] letters is accepted: the list is built so that the first four
/// letters of every word are unique, so such a prefix names exactly one word.
///
/// # Security
///
/// Not constant time: it branches on the word and reads the list at addresses the word
/// chooses. It serves only the error path, after the constant-time conversion
/// ([`values_of`]) found a word it does not know, to say which words are unknown.
pub(crate) fn lookup(token: &str) -> Option<u16> {
    let bytes = token.as_bytes();
    if bytes.len() < PREFIX_LEN || bytes.len() > MAX_WORD_LEN {
        return None;
    }
    let mut buf = [0u8; MAX_WORD_LEN];
    let lower = buf.get_mut(..bytes.len())?;
    for (dst, src) in lower.iter_mut().zip(bytes) {
        *dst = src.to_ascii_lowercase();
    }
    let lower: &[u8] = lower;
    // First word that is not less than the token: the token itself, or the only word
    // it can be a prefix of (every word it prefixes sorts at or after it).
    let at = WORDS.partition_point(|w| w.as_bytes() < lower);
    let word = WORDS.get(at)?;
    if word.as_bytes().starts_with(lower) {
        u16::try_from(at).ok()
    } else {
        None
    }
}

/// The word for a 10-bit value, by index (not constant time: for the error path's
/// suggested corrections only; shares are turned into text by [`text_of`]).
///
/// Values above 1023 cannot come from the bit packing, which masks to 10 bits;
/// `"?"` stands in rather than panicking.
pub(crate) fn word(value: u16) -> &'static str {
    WORDS.get(usize::from(value)).copied().unwrap_or("?")
}

/// Up to `max` list words closest to `token` by edit distance (insertions, deletions,
/// substitutions and swaps of neighbouring letters, each costing one): those at the
/// smallest distance found, alphabetically, provided it is at most 2 (3 for tokens of
/// 7 letters or more).
pub(crate) fn nearest(token: &str, max: usize) -> Vec<&'static str> {
    let lower: Vec<char> = token.to_ascii_lowercase().chars().collect();
    let len = lower.len();
    let limit = if len >= 7 { 3 } else { 2 };
    // Two cheap lower bounds on the distance rule out nearly every word before the
    // quadratic table: the difference in length (every word, for a long paste), and
    // the letters one side has and the other lacks.
    let letters = letter_counts(&lower);
    let mut scored: Vec<(usize, &'static str)> = WORDS
        .iter()
        .filter(|w| len.abs_diff(w.len()) <= limit)
        .filter(|w| letter_bound(&letters, len, w) <= limit)
        .map(|w| (edit_distance(&lower, w), *w))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |(d, _)| *d);
    scored
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(max)
        .map(|(_, w)| w)
        .collect()
}

/// How often each letter a..z occurs in a token; anything else is counted in the last
/// entry, which no list word draws on.
fn letter_counts(token: &[char]) -> [u16; 27] {
    let mut counts = [0u16; 27];
    for &c in token {
        let i = if c.is_ascii_lowercase() {
            usize::from(c as u8 - b'a')
        } else {
            26
        };
        if let Some(n) = counts.get_mut(i) {
            *n = n.saturating_add(1);
        }
    }
    counts
}

/// A lower bound on the edit distance between a token (its letter counts and length)
/// and a list word: the larger of how many of the word's letters the token lacks and
/// how many of the token's letters the word lacks. An insertion, deletion or
/// substitution changes each count by at most one and a swap changes neither.
fn letter_bound(token: &[u16; 27], token_len: usize, word: &str) -> usize {
    let mut left = *token;
    let mut word_only = 0;
    for c in word.bytes() {
        match left.get_mut(usize::from(c.wrapping_sub(b'a'))) {
            Some(n) if *n > 0 => *n -= 1,
            _ => word_only += 1,
        }
    }
    let shared = word.len() - word_only;
    word_only.max(token_len - shared)
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of
/// one substring) between a token's `char`s and a list word (ASCII, at most
/// [`MAX_WORD_LEN`] letters, so the table's rows live on the stack).
fn edit_distance(a: &[char], word: &str) -> usize {
    let b = word.as_bytes();
    let width = b.len() + 1;
    if width > MAX_WORD_LEN + 1 {
        return usize::MAX; // not a list word; every list word fits
    }
    let b_char = |j: usize| b.get(j).map(|&c| char::from(c));
    // Rows i-2, i-1 and i of the dynamic-programming table.
    let mut two_up = [0usize; MAX_WORD_LEN + 1];
    let mut up: [usize; MAX_WORD_LEN + 1] = std::array::from_fn(|j| j);
    let mut row = [0usize; MAX_WORD_LEN + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..width {
            let (ai, bj) = (a.get(i - 1).copied(), b_char(j - 1));
            let cost = usize::from(ai != bj);
            let del = up.get(j).map_or(usize::MAX, |v| v + 1);
            let ins = row.get(j - 1).map_or(usize::MAX, |v| v + 1);
            let sub = up.get(j - 1).map_or(usize::MAX, |v| v + cost);
            let mut best = del.min(ins).min(sub);
            if i > 1 && j > 1 && ai == b_char(j - 2) && a.get(i - 2).copied() == bj {
                best = best.min(two_up.get(j - 2).map_or(usize::MAX, |v| v + 1));
            }
            if let Some(cell) = row.get_mut(j) {
                *cell = best;
            }
        }
        std::mem::swap(&mut two_up, &mut up);
        std::mem::swap(&mut up, &mut row);
    }
    up.get(b.len()).copied().unwrap_or(usize::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_data_file() {
        let file = include_str!("../../../vectors/slip39/wordlist.txt");
        let listed: Vec<&str> = file.split_whitespace().collect();
        assert_eq!(listed, WORDS.to_vec());
    }

    #[test]
    fn sorted_and_prefixes_unique() {
        for pair in WORDS.windows(2) {
            assert!(pair[0] < pair[1]);
            assert_ne!(pair[0][..PREFIX_LEN], pair[1][..PREFIX_LEN]);
        }
    }

    #[test]
    fn lookup_whole_words_prefixes_and_case() {
        for (i, w) in WORDS.iter().enumerate() {
            assert_eq!(lookup(w), Some(i as u16));
            assert_eq!(lookup(&w.to_uppercase()), Some(i as u16));
            for len in PREFIX_LEN..w.len() {
                assert_eq!(lookup(&w[..len]), Some(i as u16), "{}", &w[..len]);
            }
            assert_eq!(word(i as u16), *w);
        }
        assert_eq!(lookup("aca"), None);
        assert_eq!(lookup("acadx"), None);
        assert_eq!(lookup("academics"), None);
        assert_eq!(lookup("zzzz"), None);
        assert_eq!(lookup(""), None);
        assert_eq!(lookup("académic"), None);
    }

    /// The constant-time conversion agrees with the binary search on every word, every
    /// prefix of four letters or more, and in upper case.
    #[test]
    fn constant_time_values_match_the_lookup() {
        let mut text = String::new();
        let mut want = Vec::new();
        for (i, w) in WORDS.iter().enumerate() {
            let forms = [w.to_string(), w.to_uppercase(), w[..PREFIX_LEN].to_string()];
            for form in forms {
                text.push_str(&form);
                text.push_str(if i % 3 == 0 { " \t" } else { "\n " });
                want.push(i as u16);
            }
        }
        let count = count_words(text.as_bytes());
        assert_eq!(count as usize, want.len());
        let (values, known) = values_of(text.as_bytes(), want.len());
        assert_eq!(known, u64::MAX);
        assert_eq!(&values[..], &want[..]);
    }

    #[test]
    fn constant_time_values_flag_what_is_not_a_word() {
        for bad in [
            "academic aca",
            "academic academics",
            "academic acadx",
            "academic zzzz",
            "academic acad3mic",
            "academic académic",
            "academic\u{a0}acid",
        ] {
            let count = count_words(bad.as_bytes()) as usize;
            let (_, known) = values_of(bad.as_bytes(), count);
            assert_eq!(known, 0, "{bad:?}");
            assert_eq!(
                bad.split_whitespace().all(|t| lookup(t).is_some()),
                bad.contains('\u{a0}'),
                "{bad:?}: only non-ASCII whitespace is left to the detailed path"
            );
        }
        assert_eq!(count_words(b""), 0);
        assert_eq!(count_words(b" \t\r\n"), 0);
        assert_eq!(count_words(b"  a  bb\x0bc\x0c d "), 4);
    }

    /// The constant-time text is the words joined by single spaces, for every word at
    /// every place.
    #[test]
    fn constant_time_text_matches_the_list() {
        let values: Vec<u16> = (0..1024u16).rev().collect();
        let joined: Vec<&str> = values.iter().map(|&v| word(v)).collect();
        assert_eq!(&text_of(&values)[..], joined.join(" ").as_bytes());
        assert_eq!(&text_of(&[])[..], b"");
        assert_eq!(&text_of(&[5])[..], WORDS[5].as_bytes());
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance(&chars("academic"), "academic"), 0);
        assert_eq!(edit_distance(&chars("acadmic"), "academic"), 1);
        assert_eq!(edit_distance(&chars("acadmeic"), "academic"), 1);
        assert_eq!(edit_distance(&chars(""), "abc"), 3);
        assert_eq!(edit_distance(&chars("kitten"), "sitting"), 3);
        assert_eq!(nearest("acadmic", 3), vec!["academic"]);
        assert!(nearest("qqqqqqqqqq", 3).is_empty());
        assert_eq!(nearest("bean", 3), vec!["beam"]);
        assert_eq!(nearest("BEAM", 3), vec!["beam"]);
    }

    #[test]
    fn lower_bounds_drop_no_candidate() {
        // The same search without the two lower bounds, over tokens of every length near
        // the words' (4 to 8 letters), edits of list words and a long paste.
        let unfiltered = |token: &str| {
            let lower: Vec<char> = token.to_ascii_lowercase().chars().collect();
            let limit = if lower.len() >= 7 { 3 } else { 2 };
            let mut scored: Vec<(usize, &str)> = WORDS
                .iter()
                .map(|w| (edit_distance(&lower, w), *w))
                .filter(|(d, _)| *d <= limit)
                .collect();
            scored.sort();
            let best = scored.first().map_or(0, |(d, _)| *d);
            let near: Vec<&str> = scored
                .into_iter()
                .take_while(|(d, _)| *d == best)
                .take(3)
                .map(|(_, w)| w)
                .collect();
            near
        };
        let mut tokens: Vec<String> = ["", "a", "ab", "abc", "acadmic", "academicsss"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        for w in WORDS.iter().step_by(7) {
            tokens.push(format!("{w}x"));
            tokens.push(format!("{w}xyz"));
            tokens.push(w.get(1..).unwrap_or_default().to_string());
            tokens.push(w.get(..w.len() - 2).unwrap_or_default().to_string());
            let mut swapped: Vec<char> = w.chars().collect();
            swapped.swap(1, 2);
            tokens.push(swapped.iter().collect());
            swapped[0] = 'q';
            tokens.push(swapped.iter().collect());
            tokens.push(format!("é{}", w.get(2..).unwrap_or_default()));
        }
        tokens.push("academic".repeat(40));
        for token in &tokens {
            assert_eq!(nearest(token, 3), unfiltered(token), "token {token:?}");
        }
    }
}
