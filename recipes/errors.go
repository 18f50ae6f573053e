package recipes

import "errors"

// ErrNoRecipe is returned by Load when the reference names neither a file
// nor a built-in recipe.
var ErrNoRecipe = errors.New("no such file or built-in recipe")
