// The live alert list (see CONSOLE.md).
