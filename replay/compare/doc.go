// Package compare decides, frame by frame, whether what came out of the
// kernel is what had to come out: Frames matches captured frames to the
// expected ones within each flow and classifies every frame as exact,
// normalized, mismatched, missing or extra, and Diff names the first header
// fields in which two frames differ ("IPv4 ID 0x1c2e != 0x1c2f"). It is the
// last stage of the pipeline (capture → headers → merge → super-packet →
// socket → capture → compare) and, being pure, builds on any OS.
package compare
