package optim_test

import (
	"fmt"

	"ltecli/optim"
	"ltecli/weights"
)

func ExampleAdamW_StepWithClip() {
	params, err := weights.NewStore([]weights.Spec{
		{Name: "proj.weight", Shape: []int64{2, 2}}, // decays
		{Name: "norm.weight", Shape: []int64{2}},    // doesn't
	})
	if err != nil {
		panic(err)
	}
	copy(params.Data, []float32{1, 1, 1, 1, 1, 1})
	grads := params.ZerosLike()
	copy(grads.Data, []float32{3, 0, 0, 0, 0, 4}) // global norm 5

	opt := optim.NewAdamW(params, optim.DefaultAdamW()) // weight decay 0.01
	opt.Schedule = optim.ScheduleConfig{Kind: optim.Constant, PeakLR: 0.1}
	norm, skipped, err := opt.StepWithClip(params, grads, opt.LR(), 1)
	fmt.Println(norm, skipped, err)
	// The first AdamW step moves each parameter by lr against its gradient's sign; the
	// matrix also decays by a factor 1 - 0.1*0.01.
	fmt.Printf("%.4f\n", params.Data)
	// Output:
	// 5 false <nil>
	// [0.8990 0.9990 0.9990 0.9990 1.0000 0.9000]
}
