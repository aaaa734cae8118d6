"""Stand-in main job until training lands: build a tiny graph and print its gradients."""
import tinygrad_loss as tl

w = tl.Tensor([[0.5], [-0.25]], requires_grad=True, name="w")
x = tl.Tensor([[1, 2], [2, 3], [3, 4]])
y = tl.Tensor([[3], [5], [7]])
with tl.name_scope("MeanSquaredError"):
    loss = ((y - x @ w) ** 2).mean()
loss.backward()
print("loss", loss.item())
print("dloss/dw", w.grad.numpy().ravel())
