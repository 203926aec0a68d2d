package graph_test

import (
	"fmt"

	"ltecli/model/graph"
	"ltecli/ort"
)

// The gradient of y = x² for a vector of symbolic length n, built, printed and run.
func ExampleVJP() {
	g := graph.New("square")
	x := g.Input("x", graph.Float64, graph.Sym("n"))
	g.Output("y", g.Mul(x, x))

	bwd, err := graph.VJP(g, []string{"x"}, graph.VJPOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(bwd)

	model, err := bwd.Encode()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := ort.NewSession(model, bwd.InputNames(), bwd.OutputNames(), ort.DefaultSessionConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	xs := ort.F64Tensor([]float64{1, 2, 3}, 3)
	dy := ort.F64Tensor([]float64{1, 1, 0.5}, 3)
	out, err := s.Run([]*ort.Tensor{xs, dy}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("d_x =", out[0].F64)
	// Output:
	// graph square_vjp
	//   input  x float64[n]
	//   input  d_y float64[n]
	//   Mul_1 float64[n] = Mul(d_y, x)
	//   d_x float64[n] = Mul(Mul_1, [2])
	//   output d_x float64[n]
	// d_x = [2 4 3]
}
