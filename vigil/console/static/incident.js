// One incident (see CONSOLE.md).
