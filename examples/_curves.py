"""Plots a History's accuracy curves to a PNG, when matplotlib is installed."""


def plot_accuracy(history, path, title):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: pip install matplotlib to plot the curves")
        return
    figure, axes = plt.subplots()
    axes.plot(history.history["accuracy"], label="training")
    axes.plot(history.history["val_accuracy"], label="validation")
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.set_title(title)
    axes.legend()
    figure.savefig(path)
    plt.close(figure)
    print(f"accuracy curves written to {path}")
