// Text from files (config.json, process.json, state.json) ends up in error
// messages printed to a terminal. Control characters in it could move the
// cursor, retitle the window or hide the message, and a newline would make
// two lines of one: they are shown escaped instead, as \xNN or \uNNNN.

// C0 controls but tab, DEL, C1 controls (0x9b is a CSI on its own), and the
// bidirectional overrides that reorder what a reader sees.
const UNPRINTABLE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}
