"""The reference model trained with an explicit PyTorch-style loop instead of ``fit``.

One iteration of the loop is exactly one training step of ``fit`` on the full batch:
clear the gradients, compute the loss, backpropagate, let the optimizer update the weights.
"""
import tinygrad_loss as tl
from tinygrad_loss.losses import MeanSquaredError
from tinygrad_loss.nn import Dense, Sequential
from tinygrad_loss.optim import SGD

tl.manual_seed(0)

x_train = tl.Tensor([[1, 2], [2, 3], [3, 4]])
y_train = tl.Tensor([3, 5, 7])

model = Sequential([Dense(1, input_shape=(2,))])
loss_fn = MeanSquaredError()
optimizer = SGD(model.parameters(), learning_rate=0.01)

losses = []
for epoch in range(100):
    optimizer.zero_grad()
    loss = loss_fn(y_train, model(x_train))  # Keras order: (y_true, y_pred)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if epoch % 10 == 0 or epoch == 99:
        print(f"epoch {epoch + 1:3d}  loss {loss.item():.6f}")

dense = model.layers[0]
print("learned kernel:", [round(float(v), 4) for v in dense.kernel.numpy().ravel()])
print("learned bias:  ", [round(float(v), 4) for v in dense.bias.numpy()])
print(f"loss: first epoch {losses[0]:.6f}, last epoch {losses[-1]:.6f}")
