/*
 * Runs IA-32 machine code on the host processor with ESI pointing at a data block, one snippet
 * per input line: the x87 vectors keep their whole state (control word, stack, memory operands,
 * the FNSAVE image after the instruction) in that block.
 *
 *   stdin:  CODE DATA          (hex; CODE is the snippet's bytes, DATA the block's first bytes)
 *   stdout: ok DATA            the block after the snippet ran to its end
 *           fault SIGNAL       the snippet raised a signal (SIGFPE for #MF, SIGSEGV, SIGILL)
 *
 * The block is 64-byte aligned and zero beyond the bytes given; the output has as many bytes as
 * the input. All general registers are saved around the snippet. Build: gcc -m32 -O2 -fno-pie -no-pie.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BLOCK_SIZE 1024
#define CODE_SIZE 4096

void run_snippet(void *block, void *code);

__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"
    ".globl run_snippet\n"
    "run_snippet:\n"
    "  pushad\n"
    "  mov esi, [esp+36]\n"
    "  call dword ptr [esp+40]\n"
    "  cld\n"
    "  popad\n"
    "  ret\n"
    ".att_syntax prefix\n");

static sigjmp_buf fault_return;
static int fault_signal;
static uint8_t block[BLOCK_SIZE] __attribute__((aligned(64)));

static void on_fault(int sig) {
    fault_signal = sig;
    siglongjmp(fault_return, 1);
}

static int parse_hex(const char *hex, uint8_t *out, size_t max) {
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > max) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
        out[i] = (uint8_t)byte;
    }
    return (int)(n / 2);
}

int main(void) {
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) { perror("run-x87-on-host: mmap"); return 2; }
    int signals[] = { SIGFPE, SIGSEGV, SIGILL, SIGBUS };
    for (size_t k = 0; k < sizeof signals / sizeof signals[0]; k++) signal(signals[k], on_fault);

    static char line[2 * (CODE_SIZE + BLOCK_SIZE) + 16], code_hex[2 * CODE_SIZE + 2], data_hex[2 * BLOCK_SIZE + 2];
    unsigned long line_no = 0;
    while (fgets(line, sizeof line, stdin)) {
        line_no++;
        if (sscanf(line, "%8193s %2049s", code_hex, data_hex) != 2) {
            fprintf(stderr, "run-x87-on-host: stdin line %lu: expected CODE and DATA\n", line_no);
            return 2;
        }
        int code_len = parse_hex(code_hex, page, CODE_SIZE - 1);
        memset(block, 0, sizeof block);
        int data_len = parse_hex(data_hex, block, BLOCK_SIZE);
        if (code_len <= 0 || data_len < 0) {
            fprintf(stderr, "run-x87-on-host: stdin line %lu: bad hex\n", line_no);
            return 2;
        }
        page[code_len] = 0xc3; /* RET */
        if (sigsetjmp(fault_return, 1) == 0) {
            run_snippet(block, page);
            printf("ok ");
            for (int i = 0; i < data_len; i++) printf("%02x", block[i]);
            printf("\n");
        } else {
            printf("fault %d\n", fault_signal);
        }
        /* The next snippet starts from a clean x87 whatever this one left pending. */
        __asm__ volatile("fninit");
    }
    return 0;
}
