/* A small bytecode interpreter (a stack machine with a switch dispatch), as in an instruction
 * decoder or an emulator's slow path, running a program that counts the Collatz steps of
 * 1..N and sums them. The checksum mixes the result and the number of bytecodes executed. */
#include "kernels.h"

enum op { PUSH, LOAD, STORE, ADD, SUB, MUL, DIV2, AND1, DUP, JZ, JMP, LT, EQ, HALT };

/* vars: 0 n (the outer counter), 1 x (the current Collatz value), 2 the steps so far, 3 the limit.
 * The bytecode is emitted by build(), which patches the forward jumps. */
static int32_t code[96];
static int64_t vars[4];

static int build(int32_t limit)
{
	int n = 0;
#define E(x) (code[n++] = (x))
	E(PUSH); E(1); E(STORE); E(0);
	int outer = n;
	E(LOAD); E(0); E(LOAD); E(3); E(LT); E(JZ); int exit_patch = n; E(0);
	E(LOAD); E(0); E(STORE); E(1);
	int inner = n;
	E(LOAD); E(1); E(PUSH); E(1); E(EQ); E(JZ); int body_patch = n; E(0);
	E(LOAD); E(0); E(PUSH); E(1); E(ADD); E(STORE); E(0); E(JMP); E(outer);
	code[body_patch] = n;
	E(LOAD); E(2); E(PUSH); E(1); E(ADD); E(STORE); E(2);
	E(LOAD); E(1); E(AND1); E(JZ); int even_patch = n; E(0);
	E(LOAD); E(1); E(PUSH); E(3); E(MUL); E(PUSH); E(1); E(ADD); E(STORE); E(1); E(JMP); E(inner);
	code[even_patch] = n;
	E(LOAD); E(1); E(DIV2); E(STORE); E(1); E(JMP); E(inner);
	code[exit_patch] = n;
	E(HALT);
#undef E
	vars[3] = limit;
	return n;
}

static uint64_t run(uint64_t *executed)
{
	int64_t stack[16];
	int sp = 0, pc = 0;
	uint64_t count = 0;
	for (;;) {
		count++;
		switch ((enum op)code[pc++]) {
		case PUSH: stack[sp++] = code[pc++]; break;
		case LOAD: stack[sp++] = vars[code[pc++]]; break;
		case STORE: vars[code[pc++]] = stack[--sp]; break;
		case ADD: sp--, stack[sp - 1] += stack[sp]; break;
		case SUB: sp--, stack[sp - 1] -= stack[sp]; break;
		case MUL: sp--, stack[sp - 1] *= stack[sp]; break;
		case DIV2: stack[sp - 1] /= 2; break;
		case AND1: stack[sp - 1] &= 1; break;
		case DUP: stack[sp] = stack[sp - 1], sp++; break;
		case JZ: pc = stack[--sp] == 0 ? code[pc] : pc + 1; break;
		case JMP: pc = code[pc]; break;
		case LT: sp--, stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
		case EQ: sp--, stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
		case HALT: *executed = count; return (uint64_t)vars[2];
		}
	}
}

KERNEL uint64_t k_interp(void)
{
	uint64_t executed = 0;
	vars[0] = vars[1] = vars[2] = 0;
	int len = build(100);
	uint64_t steps = run(&executed);
	return mix(mix(steps, executed), (uint64_t)len);
}
