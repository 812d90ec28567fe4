/*
 * hist.h - a fixed-size log-linear latency histogram (about 3% resolution, no allocation),
 * so recording a sample on the per-message path costs a few instructions.
 */
#ifndef LOADGEN_HIST_H
#define LOADGEN_HIST_H

#include <stdint.h>
#include <string.h>

/* 32 linear sub-buckets per power of two; 60 groups cover every 64-bit value. */
#define HIST_SUB_BITS 5
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (61u * HIST_SUB_COUNT)

/* Counts of nanosecond samples, plus their count and maximum. */
typedef struct {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t maximum;
} histogram;

static inline void histogram_reset(histogram *h) {
    memset(h, 0, sizeof(*h));
}

static inline uint32_t histogram_index(uint64_t value) {
    if (value < HIST_SUB_COUNT) {
        return (uint32_t)value;
    }
    uint32_t top_bit = 63u - (uint32_t)__builtin_clzll(value);
    uint32_t group = top_bit - HIST_SUB_BITS + 1u;
    uint32_t sub = (uint32_t)(value >> (top_bit - HIST_SUB_BITS)) & (HIST_SUB_COUNT - 1u);
    return group * HIST_SUB_COUNT + sub;
}

/* The smallest value that lands in bucket `index` (what percentiles report). */
static inline uint64_t histogram_bucket_floor(uint32_t index) {
    uint32_t group = index / HIST_SUB_COUNT;
    uint64_t sub = index % HIST_SUB_COUNT;
    if (group == 0) {
        return sub;
    }
    return (HIST_SUB_COUNT + sub) << (group - 1u);
}

static inline void histogram_record(histogram *h, uint64_t value) {
    h->counts[histogram_index(value)]++;
    h->total++;
    if (value > h->maximum) {
        h->maximum = value;
    }
}

/* The value below which `fraction` (0..1) of the samples lie; 0 if there are none. */
static inline uint64_t histogram_percentile(const histogram *h, double fraction) {
    if (h->total == 0) {
        return 0;
    }
    uint64_t rank = (uint64_t)(fraction * (double)h->total);
    if (rank >= h->total) {
        rank = h->total - 1;
    }
    uint64_t seen = 0;
    for (uint32_t index = 0; index < HIST_BUCKETS; index++) {
        seen += h->counts[index];
        if (seen > rank) {
            return histogram_bucket_floor(index);
        }
    }
    return h->maximum;
}

#endif
