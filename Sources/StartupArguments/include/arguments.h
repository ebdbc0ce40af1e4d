/* The Swift runtime's interface for CommandLine (see arguments.c for why it is here). */
#ifndef UWS_STARTUP_ARGUMENTS_H
#define UWS_STARTUP_ARGUMENTS_H
char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen);
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);
#endif
