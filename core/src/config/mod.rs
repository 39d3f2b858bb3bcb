//! keepalived.conf: lexer, parser, typed configuration and diagnostics.
