#!/bin/sh
echo "$GREETING (running as $(id -un) in container $(hostname); image $(cat /app/built))"
