// Finding a contact reason by everyday words: pure functions, no DOM.
//
// A citizen types "ont i magen", "magont", "tummy ache" or "huvdvärk"; each
// reason carries its label (sv, en) and everyday terms from the knowledge
// base. Matching folds case and accents (å ä ö é → a a o e), strips the
// common Swedish and English endings (magen → mag, headaches → headache),
// finds a word inside a compound (magont ∋ mag) and forgives one typo in a
// word of four letters or more (two from eight). Words that say nothing on
// their own ("ont", "pain", "i", "my") help a ranking but never match alone.

const WEAK = new Set([
  "i", "pa", "och", "med", "jag", "har", "min", "mitt", "mina", "en", "ett", "det", "att", "av", "for", "om",
  "ont", "besvar", "problem", "varker", "vark", "lite", "mycket", "barn", "barnet", "sin", "sig", "ar", "kan",
  "the", "a", "an", "my", "and", "of", "in", "on", "i", "have", "has", "got", "is", "it", "pain", "sore",
  "ache", "problems", "problem", "with", "child", "kid", "son", "daughter", "to", "from", "bad", "feel",
]);
const ENDINGS = ["arna", "erna", "orna", "ande", "ende", "heten", "ing", "ies", "ens", "ets", "na", "ar", "er", "or", "en", "et", "es", "s", "n", "t", "a", "e"];

/** Lower case without accents or punctuation: "Öron-värk!" → "oron vark". */
export function fold(text) {
  return String(text)
    .toLowerCase()
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

/** The word without a common ending, kept at three letters or more. */
export function stem(word) {
  for (const end of ENDINGS) {
    if (word.length - end.length >= 3 && word.endsWith(end)) return word.slice(0, -end.length);
  }
  return word;
}

/** Damerau-Levenshtein distance (optimal string alignment), stopping early above ``limit``. */
export function distance(a, b, limit = 2) {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...new Array(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    let best = Infinity;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
      best = Math.min(best, d);
    }
    if (best > limit) return limit + 1;
  }
  return rows[a.length][b.length];
}

/** Spelling folded to sound: "headache" and "headake", "diarré" and "diarre", "ph"/"f", "w"/"v". */
export function sound(word) {
  return word
    .replace(/ch/g, "k")
    .replace(/ck/g, "k")
    .replace(/c(?=[eiy])/g, "s")
    .replace(/c/g, "k")
    .replace(/ph/g, "f")
    .replace(/w/g, "v")
    .replace(/z/g, "s")
    .replace(/(.)\1+/g, "$1");
}

function typos(word) {
  return word.length >= 8 ? 2 : word.length >= 4 ? 1 : 0;
}

/** How well one typed word matches one word of a reason: 3 same, 2 same stem or part of a compound, 1 a typo, 0 none. */
export function wordScore(typed, word) {
  if (typed === word) return 3;
  const a = stem(typed);
  const b = stem(word);
  if (a === b) return 2.5;
  const allowed = Math.min(typos(typed), typos(word));
  const typo =
    allowed &&
    (distance(typed, word, allowed) <= allowed ||
      distance(a, b, allowed) <= allowed ||
      distance(sound(typed), sound(word), allowed) <= allowed);
  if (typo && typed.length >= 7) return 2.25; // one slip in a long word beats a shared fragment
  if (!WEAK.has(word) && !WEAK.has(typed)) {
    if (a.length >= 3 && b.length >= 3 && (word.startsWith(a) || typed.startsWith(b))) return 2;
    if (a.length >= 4 && word.includes(a)) return 2; // "vark" in "huvudvark"
    if (b.length >= 3 && typed.includes(b) && b.length * 2 >= a.length - 1) return 2; // "mag" in "magont"
  }
  return typo ? 1.5 : 0;
}

/** The words a reason is found by: its labels in both languages and its terms. */
export function wordsOf(reason) {
  const texts = [reason.label?.sv, reason.label?.en, ...(reason.terms?.sv || []), ...(reason.terms?.en || [])];
  const label = new Set(fold(`${reason.label?.sv || ""} ${reason.label?.en || ""}`).split(" ").filter(Boolean));
  const words = new Set();
  const phrases = [];
  for (const text of texts) {
    if (!text) continue;
    const folded = fold(text);
    phrases.push(folded);
    for (const w of folded.split(" ")) if (w) words.add(w);
  }
  return { words: [...words], phrases, label: [...label] };
}

/** The reason's labels and terms as written (lower case, diacritics kept). */
function exactOf(reason) {
  const texts = [reason.label?.sv, reason.label?.en, ...(reason.terms?.sv || []), ...(reason.terms?.en || [])];
  return new Set(texts.filter(Boolean).map((t) => t.toLowerCase()));
}

/**
 * The reasons that match ``query``, best first: [{id, score}]. Each reason:
 * {id, label: {sv, en}, terms: {sv: [...], en: [...]}}. An empty query gives [].
 */
export function search(reasons, query) {
  const typed = fold(query).split(" ").filter(Boolean);
  if (!typed.length) return [];
  const strong = typed.filter((w) => !WEAK.has(w));
  const whole = typed.join(" ");
  const asWritten = query.trim().toLowerCase();
  const found = [];
  for (const reason of reasons) {
    const { words, phrases, label } = reason._words || (reason._words = wordsOf(reason));
    let score = 0;
    let strongHits = 0;
    for (const w of typed) {
      let best = 0;
      for (const word of words) {
        best = Math.max(best, wordScore(w, word));
        if (best === 3) break;
      }
      if (best && !WEAK.has(w)) strongHits += 1;
      if (best && !WEAK.has(w) && label.some((word) => wordScore(w, word) > 0)) score += 0.5; // the reason's own name
      score += WEAK.has(w) ? best / 4 : best;
    }
    if (phrases.includes(whole)) score += 3; // a whole term
    else if (whole.length >= 4 && phrases.some((p) => p.startsWith(whole))) score += 2; // the start of one
    if ((reason._exact ||= exactOf(reason)).has(asWritten)) score += 1; // as written, with its å, ä and ö
    if (strong.length ? strongHits === 0 : score < 3) continue; // weak words alone match only a whole phrase
    found.push({ id: reason.id, score: score + strongHits * 2 - (strong.length - strongHits) * 2 });
  }
  return found.sort((x, y) => y.score - x.score);
}
