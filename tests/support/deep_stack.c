/* SPDX-License-Identifier: MIT */
/* lwpt_deep (deep_stack.h): a deep live stack whose every byte is checked. */
#include "deep_stack.h"

#define PAD 1000

__attribute__((noinline)) unsigned lwpt_deep(unsigned frames, unsigned seed,
                                             void (*at_bottom)(void))
{
    volatile unsigned char pad[PAD];
    unsigned sum = 0;

    for (unsigned i = 0; i < PAD; i++)
        pad[i] = (unsigned char)(seed + i);
    if (frames == 0)
        at_bottom();
    else
        sum = lwpt_deep(frames - 1, seed * 31u + 1, at_bottom);
    for (unsigned i = 0; i < PAD; i++)
        sum += pad[i] == (unsigned char)(seed + i);
    return sum;
}
