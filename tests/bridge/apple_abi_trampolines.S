/* objc_msgSend, objc_msgSend_stret and objc_msgSend_fpret for the GNU runtime on x86_64 Linux, so the
 * header's Apple branch (PYMETAL_TEST_APPLE_ABI=1) runs here with macOS x86_64's calling convention.
 *
 * Each counts its call, looks the IMP up with objc_msg_lookup(self, _cmd) and jumps to it with every
 * argument register as it found them: rdi rsi rdx rcx r8 r9, rax (the vector-register count of a
 * variadic call) and xmm0-7. Stack arguments are untouched because the jump leaves the frame as the
 * caller built it.
 *
 *   objc_msgSend(self, _cmd, ...)              self in rdi, _cmd in rsi
 *   objc_msgSend_fpret(self, _cmd, ...)        the same registers; the IMP returns on the x87 stack
 *   objc_msgSend_stret(result, self, _cmd, ...) result pointer in rdi, self in rsi, _cmd in rdx
 *
 * Frame: entry rsp is 8 mod 16 (the return address); 184 bytes (8 xmm * 16 + 7 gpr * 8) brings it
 * to 0 mod 16 for the call, with the xmm slots 16-byte aligned at 0..127.
 */

#define FRAME 184

.macro SAVE_ARGUMENTS
    subq    $FRAME, %rsp
    .cfi_adjust_cfa_offset FRAME
    movaps  %xmm0, 0(%rsp)
    movaps  %xmm1, 16(%rsp)
    movaps  %xmm2, 32(%rsp)
    movaps  %xmm3, 48(%rsp)
    movaps  %xmm4, 64(%rsp)
    movaps  %xmm5, 80(%rsp)
    movaps  %xmm6, 96(%rsp)
    movaps  %xmm7, 112(%rsp)
    movq    %rdi, 128(%rsp)
    movq    %rsi, 136(%rsp)
    movq    %rdx, 144(%rsp)
    movq    %rcx, 152(%rsp)
    movq    %r8, 160(%rsp)
    movq    %r9, 168(%rsp)
    movq    %rax, 176(%rsp)
.endm

.macro RESTORE_ARGUMENTS_AND_JUMP
    movq    %rax, %r11          /* the IMP; r11 is neither an argument nor callee-saved */
    movaps  0(%rsp), %xmm0
    movaps  16(%rsp), %xmm1
    movaps  32(%rsp), %xmm2
    movaps  48(%rsp), %xmm3
    movaps  64(%rsp), %xmm4
    movaps  80(%rsp), %xmm5
    movaps  96(%rsp), %xmm6
    movaps  112(%rsp), %xmm7
    movq    128(%rsp), %rdi
    movq    136(%rsp), %rsi
    movq    144(%rsp), %rdx
    movq    152(%rsp), %rcx
    movq    160(%rsp), %r8
    movq    168(%rsp), %r9
    movq    176(%rsp), %rax
    addq    $FRAME, %rsp
    .cfi_adjust_cfa_offset -FRAME
    jmp     *%r11
.endm

    .text

    .globl  objc_msgSend
    .type   objc_msgSend, @function
    .p2align 4
objc_msgSend:
    .cfi_startproc
    lock incq pymetal_test_msgSend_calls(%rip)
    SAVE_ARGUMENTS
    /* self and _cmd are already in rdi and rsi */
    call    objc_msg_lookup@PLT
    RESTORE_ARGUMENTS_AND_JUMP
    .cfi_endproc
    .size   objc_msgSend, .-objc_msgSend

    .globl  objc_msgSend_fpret
    .type   objc_msgSend_fpret, @function
    .p2align 4
objc_msgSend_fpret:
    .cfi_startproc
    lock incq pymetal_test_msgSend_fpret_calls(%rip)
    SAVE_ARGUMENTS
    call    objc_msg_lookup@PLT
    RESTORE_ARGUMENTS_AND_JUMP
    .cfi_endproc
    .size   objc_msgSend_fpret, .-objc_msgSend_fpret

    .globl  objc_msgSend_stret
    .type   objc_msgSend_stret, @function
    .p2align 4
objc_msgSend_stret:
    .cfi_startproc
    lock incq pymetal_test_msgSend_stret_calls(%rip)
    SAVE_ARGUMENTS
    movq    %rsi, %rdi          /* self */
    movq    %rdx, %rsi          /* _cmd */
    call    objc_msg_lookup@PLT
    RESTORE_ARGUMENTS_AND_JUMP
    .cfi_endproc
    .size   objc_msgSend_stret, .-objc_msgSend_stret

/* Call counters the tests read (extern "C" std::uint64_t). */
    .bss
    .p2align 3
    .globl  pymetal_test_msgSend_calls
    .type   pymetal_test_msgSend_calls, @object
    .size   pymetal_test_msgSend_calls, 8
pymetal_test_msgSend_calls:
    .zero   8
    .globl  pymetal_test_msgSend_stret_calls
    .type   pymetal_test_msgSend_stret_calls, @object
    .size   pymetal_test_msgSend_stret_calls, 8
pymetal_test_msgSend_stret_calls:
    .zero   8
    .globl  pymetal_test_msgSend_fpret_calls
    .type   pymetal_test_msgSend_fpret_calls, @object
    .size   pymetal_test_msgSend_fpret_calls, 8
pymetal_test_msgSend_fpret_calls:
    .zero   8

    .section .note.GNU-stack,"",@progbits
