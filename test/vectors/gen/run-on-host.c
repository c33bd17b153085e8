/*
 * Runs IA-32 machine code on the host processor, one snippet per input line.
 *
 *   stdin:  CODE EAX ECX EDX EBX ESI EDI EFLAGS      (hex; CODE is the instruction bytes)
 *   stdout: ok EAX ECX EDX EBX ESI EDI EFLAGS        after the snippet ran to its end
 *           fault VECTOR EAX ECX EDX EBX ESI EDI EFLAGS   state at the faulting instruction
 *
 * The snippet is copied into an executable page followed by RET and called from
 * run_snippet below, which loads the registers and EFLAGS just before the call and
 * stores them right after it, so the bytes that ran are exactly the bytes given.
 * A divide error (#DE, vector 0) reaches us as SIGFPE; the kernel's saved context
 * gives the state at the fault.  Build: gcc -m32 -O2 -fno-pie -no-pie.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

struct cpu_state { uint32_t eax, ecx, edx, ebx, esi, edi, eflags; };

void run_snippet(struct cpu_state *state, void *code);

/* cdecl; EBP is left alone (no snippet uses it), EBX ESI EDI are saved for the caller. */
__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"
    ".globl run_snippet\n"
    "run_snippet:\n"
    "  push ebp\n  push ebx\n  push esi\n  push edi\n"
    "  mov eax, [esp+20]\n"
    "  mov [snippet_state], eax\n"
    "  mov edx, [esp+24]\n"
    "  mov [snippet_code], edx\n"
    "  push dword ptr [eax+24]\n"
    "  popfd\n"
    "  mov ecx, [eax+4]\n  mov edx, [eax+8]\n  mov ebx, [eax+12]\n"
    "  mov esi, [eax+16]\n  mov edi, [eax+20]\n  mov eax, [eax]\n"
    "  call dword ptr [snippet_code]\n"
    "  pushfd\n"              /* first, before anything can touch the flags */
    "  push eax\n"
    "  mov eax, [snippet_state]\n"
    "  mov [eax+4], ecx\n  mov [eax+8], edx\n  mov [eax+12], ebx\n"
    "  mov [eax+16], esi\n  mov [eax+20], edi\n"
    "  pop dword ptr [eax]\n"
    "  pop dword ptr [eax+24]\n"
    "  cld\n"                 /* the C ABI wants DF clear */
    "  pop edi\n  pop esi\n  pop ebx\n  pop ebp\n"
    "  ret\n"
    ".bss\n"
    ".lcomm snippet_state, 4\n"
    ".lcomm snippet_code, 4\n"
    ".text\n"
    ".att_syntax prefix\n");

static sigjmp_buf fault_return;
static struct cpu_state fault_state;

static void on_divide_error(int sig, siginfo_t *info, void *context) {
    (void)sig; (void)info;
    const greg_t *g = ((ucontext_t *)context)->uc_mcontext.gregs;
    fault_state = (struct cpu_state){ g[REG_EAX], g[REG_ECX], g[REG_EDX], g[REG_EBX],
                                      g[REG_ESI], g[REG_EDI], g[REG_EFL] };
    siglongjmp(fault_return, 1);
}

static int parse_hex_bytes(const char *hex, uint8_t *out, size_t max) {
    size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0 || n / 2 > max) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
        out[i] = (uint8_t)byte;
    }
    return (int)(n / 2);
}

static void print_state(const struct cpu_state *s) {
    printf(" %x %x %x %x %x %x %x\n", s->eax, s->ecx, s->edx, s->ebx, s->esi, s->edi, s->eflags);
}

int main(void) {
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) { perror("run-on-host: mmap"); return 2; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_divide_error;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);

    char line[512], hex[64];
    unsigned long line_no = 0;
    while (fgets(line, sizeof line, stdin)) {
        line_no++;
        struct cpu_state s;
        if (sscanf(line, "%63s %x %x %x %x %x %x %x", hex, &s.eax, &s.ecx, &s.edx, &s.ebx,
                   &s.esi, &s.edi, &s.eflags) != 8) {
            fprintf(stderr, "run-on-host: stdin line %lu: expected CODE and 7 hex registers\n", line_no);
            return 2;
        }
        int len = parse_hex_bytes(hex, page, 15);
        if (len < 0) {
            fprintf(stderr, "run-on-host: stdin line %lu: bad instruction bytes '%s'\n", line_no, hex);
            return 2;
        }
        page[len] = 0xC3; /* RET */
        if (sigsetjmp(fault_return, 1) == 0) {
            run_snippet(&s, page);
            printf("ok");
            print_state(&s);
        } else {
            printf("fault 0");
            print_state(&fault_state);
        }
    }
    return 0;
}
